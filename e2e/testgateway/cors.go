package testgateway

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// CORS is the configuration of Kong's bundled cors plugin, as kong.yml
// writes it.
type CORS struct {
	Origins           []string `yaml:"origins"`
	Methods           []string `yaml:"methods"`
	Headers           []string `yaml:"headers"`
	ExposedHeaders    []string `yaml:"exposed_headers"`
	Credentials       bool     `yaml:"credentials"`
	MaxAge            int      `yaml:"max_age"`
	PreflightContinue bool     `yaml:"preflight_continue"`
}

// CORSFromKongYAML returns the configuration of the global cors plugin of
// a Kong declarative configuration file, so the tests answer CORS as the
// shipped file makes Kong answer it.
func CORSFromKongYAML(path string) (CORS, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return CORS{}, fmt.Errorf("read %s: %w", path, err)
	}
	var doc struct {
		Plugins []struct {
			Name   string    `yaml:"name"`
			Config yaml.Node `yaml:"config"`
		} `yaml:"plugins"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return CORS{}, fmt.Errorf("parse %s: %w", path, err)
	}
	for _, p := range doc.Plugins {
		if p.Name != "cors" {
			continue
		}
		var c CORS
		if err := p.Config.Decode(&c); err != nil {
			return CORS{}, fmt.Errorf("decode the cors plugin of %s: %w", path, err)
		}
		return c, nil
	}
	return CORS{}, fmt.Errorf("%s has no global cors plugin", path)
}

// plainOrigin is what Kong takes for an origin rather than a regex.
var plainOrigin = regexp.MustCompile(`^[A-Za-z0-9.:/-]+$`)

// check refuses what this emulation does not model: a wildcard or a regex
// origin (and a wildcard with credentials would be a hole anyway).
func (c CORS) check() error {
	if len(c.Origins) == 0 {
		return errors.New("cors: no origins (Kong would answer *)")
	}
	for _, o := range c.Origins {
		if !plainOrigin.MatchString(o) {
			return fmt.Errorf("cors: origin %q is a wildcard or a regex, which the test gateway does not model", o)
		}
	}
	return nil
}

// normalizeOrigin drops a default port, as Kong does before comparing.
func normalizeOrigin(o string) string {
	u, err := url.Parse(o)
	if err != nil || u.Host == "" {
		return o
	}
	host := u.Host
	if (u.Scheme == "http" && u.Port() == "80") || (u.Scheme == "https" && u.Port() == "443") {
		host = u.Hostname()
	}
	return u.Scheme + "://" + host
}

// allowOrigin sets Access-Control-Allow-Origin as Kong's cors plugin does
// for plain origins: a single configured origin is always sent (the browser
// compares it); with several, the request's origin when it is one of them,
// else none.
func (c CORS) allowOrigin(h http.Header, reqOrigin string) {
	if len(c.Origins) == 1 {
		h.Set("Access-Control-Allow-Origin", c.Origins[0])
		return
	}
	if reqOrigin != "" {
		want := normalizeOrigin(reqOrigin)
		for _, o := range c.Origins {
			if normalizeOrigin(o) == want {
				h.Set("Access-Control-Allow-Origin", want)
				return
			}
		}
	}
	h.Del("Access-Control-Allow-Origin")
}

// isPreflight is Kong's test: OPTIONS with Origin and
// Access-Control-Request-Method.
func isPreflight(r *http.Request) bool {
	return r.Method == http.MethodOptions && r.Header.Get("Origin") != "" && r.Header.Get("Access-Control-Request-Method") != ""
}

// preflight answers a preflight in the access phase: 200 and the allowed
// origin, credentials, headers, methods and max age.
func (c CORS) preflight(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Vary", "Origin")
	c.allowOrigin(h, r.Header.Get("Origin"))
	if c.Credentials {
		h.Set("Access-Control-Allow-Credentials", "true")
	}
	if len(c.Headers) > 0 {
		h.Set("Access-Control-Allow-Headers", strings.Join(c.Headers, ","))
	} else if acrh := r.Header.Get("Access-Control-Request-Headers"); acrh != "" {
		h.Set("Access-Control-Allow-Headers", acrh)
	}
	methods := "GET,HEAD,PUT,PATCH,POST,DELETE,OPTIONS,TRACE,CONNECT"
	if len(c.Methods) > 0 {
		methods = strings.Join(c.Methods, ",")
	}
	h.Set("Access-Control-Allow-Methods", methods)
	if c.MaxAge > 0 {
		h.Set("Access-Control-Max-Age", strconv.Itoa(c.MaxAge))
	}
	w.WriteHeader(http.StatusOK)
}

// headerFilter sets the CORS headers of any other answer, the upstream's
// or a plugin's, replacing what the upstream set.
func (c CORS) headerFilter(h http.Header, reqOrigin string) {
	h.Add("Vary", "Origin")
	c.allowOrigin(h, reqOrigin)
	if c.Credentials {
		h.Set("Access-Control-Allow-Credentials", "true")
	}
	if len(c.ExposedHeaders) > 0 {
		h.Set("Access-Control-Expose-Headers", strings.Join(c.ExposedHeaders, ","))
	}
}
