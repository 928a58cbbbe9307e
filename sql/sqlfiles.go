// Package sqlfiles embeds the schema migrations, so that the issuer binary
// can apply them (issuer migrate up) without the source tree. The same files
// are sqlc's schema (see sqlc.yaml), so the generated code and the database
// can never disagree.
package sqlfiles

import "embed"

// Migrations holds migrations/*.sql in goose v3 format.
//
//go:embed migrations/*.sql
var Migrations embed.FS
