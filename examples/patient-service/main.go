// Command patient-service is an example upstream behind the MedInsights
// gateway, built on package identity: the gateway's medinsights-auth plugin
// verifies the caller's access token and this service reads who the caller
// is from the headers the plugin sets.
//
//	GET /patients/me   any signed-in caller: the identity the service received
//	GET /patients/     clinicians only: the patient list (demo data)
//	GET /healthz       liveness, outside the identity middleware
//
// It listens on LISTEN_ADDR (default :8080). It is only safe where nothing
// but the gateway can reach it: see docs/identity.md.
package main

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"
)

const listenAddrDefault = ":8080"

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	if len(os.Args) == 2 && os.Args[1] == "healthcheck" {
		os.Exit(healthcheck(cmp.Or(os.Getenv("LISTEN_ADDR"), listenAddrDefault)))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	srv := &http.Server{
		Addr:              cmp.Or(os.Getenv("LISTEN_ADDR"), listenAddrDefault),
		Handler:           newHandler(log),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      10 * time.Second,
		IdleTimeout:       60 * time.Second,
	}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	log.Info("patient-service listening", "addr", srv.Addr)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Error("serve", "error", err.Error())
		os.Exit(1)
	}
}

// healthcheck asks the running service for /healthz: the image has no shell
// and no curl, so the container's health check runs the binary itself.
func healthcheck(addr string) int {
	host := addr
	if host != "" && host[0] == ':' {
		host = "127.0.0.1" + host
	}
	c := &http.Client{Timeout: 2 * time.Second}
	resp, err := c.Get("http://" + host + "/healthz")
	if err != nil {
		return 1
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 1
	}
	return 0
}
