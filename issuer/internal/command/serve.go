package command

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os/signal"
	"syscall"
	"time"

	"github.com/medinsights/auth/internal/version"
	"github.com/medinsights/auth/issuer/internal/api"
	"github.com/medinsights/auth/issuer/internal/auth"
	"github.com/medinsights/auth/issuer/internal/config"
	"github.com/medinsights/auth/issuer/internal/feed"
	"github.com/medinsights/auth/issuer/internal/metrics"
	"github.com/medinsights/auth/issuer/internal/signer"
	"github.com/medinsights/auth/issuer/internal/store"
)

// cleanupInterval is how often expired sessions and verification tokens
// are deleted.
const cleanupInterval = 10 * time.Minute

// serve runs the API until SIGTERM or SIGINT, then stops accepting
// connections, lets in-flight requests finish for at most SHUTDOWN_TIMEOUT,
// and closes the database pool.
func serve(ctx context.Context, env Env) error {
	c, err := loadConfig(env, config.NeedDatabase|config.NeedSigningKey)
	if err != nil {
		return err
	}
	log := newLogger(env.Stdout, c.LogLevel)
	sg, err := signer.Load(c.PrivateKeyPath, c.PublicKeyPath, c.RetiredKeysDir)
	if err != nil {
		return fmt.Errorf("load signing key: %w", err)
	}
	st, err := store.New(ctx, store.Config{URL: c.DatabaseURL})
	if err != nil {
		return err
	}
	defer st.Close()
	// Metrics are recorded and served only with METRICS_ADDR set, on a
	// listener of their own, so Kong's route to the API never reaches them.
	var mx *metrics.Metrics
	if c.MetricsAddr != "" {
		mx = metrics.New(metrics.Options{PoolStatsFunc: st.PoolStats, Logger: log})
	}
	var events auth.Events // nil: none
	if mx != nil {
		events = mx
	}
	svc, err := newAuthService(c, st, sg, log, events)
	if err != nil {
		return err
	}
	// The revocation feed is served only with its credential set (else 404).
	var revocations http.Handler
	revocationFeed := feed.New(feed.Options{Store: st, Logger: log})
	if c.RevocationFeedToken != "" {
		feedCtx, stopFeed := context.WithCancel(ctx)
		defer stopFeed()
		go revocationFeed.Run(feedCtx)
		revocations = api.NewRevocationFeed(revocationFeed, c.RevocationFeedToken, log)
	}
	if mx != nil {
		mln, err := net.Listen("tcp", c.MetricsAddr)
		if err != nil {
			return fmt.Errorf("listen on %s: %w", c.MetricsAddr, err)
		}
		msrv := mx.Server()
		metricsDone := make(chan struct{})
		go func() {
			defer close(metricsDone)
			if err := msrv.Serve(mln); !errors.Is(err, http.ErrServerClosed) {
				log.Error("metrics listener stopped", "error", err.Error())
			}
		}()
		defer func() { _ = msrv.Close(); <-metricsDone }()
		log.Info("serving metrics", "addr", mln.Addr().String(), "path", metrics.Path)
	}
	handler, err := api.New(api.Options{
		Auth: svc, Store: st, Signer: sg, Logger: log,
		Issuer: c.Issuer, CORSAllowedOrigins: c.CORSAllowedOrigins,
		Revocations: revocations, Metrics: mx,
	})
	if err != nil {
		return err
	}
	cleanupCtx, stopCleanup := context.WithCancel(ctx)
	cleanupDone := make(chan struct{})
	go func() { defer close(cleanupDone); svc.RunCleanup(cleanupCtx, cleanupInterval) }()
	defer func() { stopCleanup(); <-cleanupDone }()
	if c.SMTPURL == nil {
		log.Warn("SMTP_URL IS UNSET: VERIFICATION TOKENS ARE WRITTEN TO THE LOG: set SMTP_URL in production (development only)")
	}

	ln, err := net.Listen("tcp", c.ListenAddr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", c.ListenAddr, err)
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      75 * time.Second, // above the revocation feed's 30 s long poll
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ConnState:         env.ConnStateFunc,
	}
	srv.RegisterOnShutdown(revocationFeed.Stop) // long polls answer now, not at the drain deadline
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("serving", "addr", ln.Addr().String(), "version", version.Version, "kid", sg.KeyID(), "issuer", c.Issuer)

	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	stop()
	log.Info("shutting down", "timeout", c.ShutdownTimeout.String())
	sctx, cancel := context.WithTimeout(context.Background(), c.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("drain incomplete: closing remaining connections", "error", err.Error())
		_ = srv.Close()
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	log.Info("stopped")
	return nil
}
