// Package accesstoken is the contract between the issuer and the gateway:
// the claims of a MedInsights access token, how they are signed, and how they
// are verified.
//
// Both binaries import it, so the two sides can never disagree on a claim name
// or on what makes a token acceptable. It depends only on the standard library
// and golang-jwt: the Kong plugin links it, and must never link database code.
//
// Tokens follow RFC 9068 (JWT profile for OAuth 2.0 access tokens): RS256,
// header "typ" "at+jwt", a "kid" that is the RFC 7638 thumbprint of the
// signing key. Verification is deliberately stricter than golang-jwt alone;
// see [Parser.Parse] for the full list of checks.
package accesstoken
