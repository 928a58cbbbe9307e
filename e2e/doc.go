// Package e2e holds the end-to-end tests and benchmarks of revocation
// (issue 4): the real issuer binary on real PostgreSQL, the real plugin
// binary driven through Kong's plugin protocol by kong-plugin/kongtest, and
// the time from a logout to the gateway's first refusal.
package e2e
