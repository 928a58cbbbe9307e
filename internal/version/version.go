// Package version holds the build's version, stamped by the linker:
//
//	-ldflags "-X github.com/medinsights/auth/internal/version.Version=1.2.3"
//
// Kong requires a plugin version of at most three dot-separated numbers, so
// Version is always of that form; the commit travels separately.
package version

// Version is the semantic version of this build.
var Version = "0.1.0"

// Commit is the source revision of this build, when known.
var Commit = "unknown"
