// Package e2e holds the end-to-end tests and benchmarks: the real issuer
// binary on real PostgreSQL and the real plugin binary driven through
// Kong's plugin protocol by kong-plugin/kongtest. Revocation (issue 4): the
// time from a logout to the gateway's first refusal. The browser client
// (issue 11): its scenarios in headless Chromium, through testgateway.
package e2e
