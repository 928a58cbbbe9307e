// Command medinsights-auth is the MedInsights Kong plugin server: Kong starts
// it, reads its schema with -dump and sends it access-phase events over a
// Unix socket. The plugin's name is this executable's base name, so ship it
// as a file named medinsights-auth, never behind a symlink.
//
// main stays tiny and prints nothing: whatever runs before StartServer also
// runs for -dump, whose standard output Kong decodes as JSON.
package main

import (
	"log"

	"github.com/Kong/go-pdk/server"

	"github.com/medinsights/auth/internal/version"
	"github.com/medinsights/auth/kong-plugin/internal/plugin"
)

func main() {
	if err := server.StartServer(plugin.New, version.Version, plugin.Priority); err != nil {
		log.Fatalf("medinsights-auth: %s", err)
	}
}
