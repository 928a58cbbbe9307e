// Command medinsights-floor is a plugin server that does nothing but read
// one request header: the floor that medinsights-auth's throughput through
// the plugin socket is measured against. With all_headers and set_header it
// reads every header and sets one upstream header instead, the same two PDK
// calls as an authenticated request through medinsights-auth. It is never
// shipped.
package main

import (
	"log"

	"github.com/Kong/go-pdk"
	"github.com/Kong/go-pdk/server"
)

// Config names the header read and, optionally, the header set.
type Config struct {
	HeaderName string `json:"header_name"`
	SetHeader  string `json:"set_header"`
	AllHeaders bool   `json:"all_headers"`
}

// Access reads one header and, when configured, sets one upstream header.
func (c *Config) Access(kong *pdk.PDK) {
	var v string
	var err error
	if c.AllHeaders {
		var h map[string][]string
		h, err = kong.Request.GetHeaders(1000)
		if len(h[c.HeaderName]) > 0 {
			v = h[c.HeaderName][0]
		}
	} else {
		v, err = kong.Request.GetHeader(c.HeaderName)
	}
	if err != nil || c.SetHeader == "" {
		return
	}
	_ = kong.ServiceRequest.SetHeaders(map[string][]string{c.SetHeader: {v[:min(len(v), 8)]}})
}

func main() {
	if err := server.StartServer(func() any { return new(Config) }, "0.0.1", 1); err != nil {
		log.Fatal(err)
	}
}
