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
	"os"
	"slices"

	"github.com/Kong/go-pdk/server"

	"github.com/medinsights/auth/internal/version"
	"github.com/medinsights/auth/kong-plugin/internal/plugin"
)

func main() {
	// -dump runs this too (Kong's query command): it must not listen.
	if !slices.Contains(os.Args[1:], "-dump") && !slices.Contains(os.Args[1:], "--dump") {
		plugin.ServeMetrics() // when MEDINSIGHTS_AUTH_METRICS_ADDR is set; never prints to stdout
	}
	if err := server.StartServer(plugin.New, version.Version, plugin.Priority); err != nil {
		log.Fatalf("medinsights-auth: %s", err)
	}
}
