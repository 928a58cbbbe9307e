// Command medinsights-floor is a plugin server that does nothing but read
// one request header: the floor that medinsights-auth's throughput through
// the plugin socket is measured against. It is never shipped.
package main

import (
	"log"

	"github.com/Kong/go-pdk"
	"github.com/Kong/go-pdk/server"
)

// Config has one field so that the schema is not empty.
type Config struct {
	HeaderName string `json:"header_name"`
}

// Access reads the Authorization header and lets the request through.
func (c *Config) Access(kong *pdk.PDK) {
	_, _ = kong.Request.GetHeader("authorization")
}

func main() {
	if err := server.StartServer(func() any { return new(Config) }, "0.0.1", 1); err != nil {
		log.Fatal(err)
	}
}
