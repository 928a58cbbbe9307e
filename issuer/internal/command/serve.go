package command

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/medinsights/auth/internal/version"
	"github.com/medinsights/auth/issuer/internal/api"
	"github.com/medinsights/auth/issuer/internal/blocklist"
	"github.com/medinsights/auth/issuer/internal/config"
	"github.com/medinsights/auth/issuer/internal/feed"
	"github.com/medinsights/auth/issuer/internal/metrics"
	"github.com/medinsights/auth/issuer/internal/signer"
	"github.com/medinsights/auth/issuer/internal/store"
)

// cleanupInterval is how often expired sessions and verification tokens
// are deleted.
const cleanupInterval = 10 * time.Minute

// serve runs the API until SIGTERM or SIGINT, then drains: for
// SHUTDOWN_DRAIN_DELAY readiness fails while every request still gets an
// answer (with Connection: close), so Kubernetes endpoints and Kong stop
// routing here before anything is refused. It then stops accepting
// connections, lets in-flight requests finish for at most SHUTDOWN_TIMEOUT,
// and closes the database pool. A second signal during the drain ends the
// process at once (the default action, restored by stop).
func serve(ctx context.Context, env Env) error {
	c, err := loadConfig(env, config.NeedDatabase|config.NeedSigningKey)
	if err != nil {
		return err
	}
	log := newLogger(env.Stdout, c.LogLevel)
	// A configured blocklist that is missing or corrupt stops start-up:
	// serving without it would quietly accept breached passwords.
	var list *blocklist.List
	if c.PasswordBlocklistFile != "" {
		if list, err = blocklist.Open(c.PasswordBlocklistFile); err != nil {
			return fmt.Errorf("PASSWORD_BLOCKLIST_FILE: %w", err)
		}
		defer list.Close()
		log.Info("breached-password blocklist loaded", "file", c.PasswordBlocklistFile, "entries", list.Len())
	}
	sg, err := signer.Load(c.PrivateKeyPath, c.PublicKeyPath, c.RetiredKeysDir)
	if err != nil {
		return fmt.Errorf("load signing key: %w", err)
	}
	st, err := store.New(ctx, store.Config{URL: c.DatabaseURL, FeedMaxConns: int32(c.DatabaseFeedMaxConns)})
	if err != nil {
		return err
	}
	defer st.Close()
	revocationFeed := feed.New(feed.Options{Store: st, Logger: log})
	// Metrics are recorded and served only with METRICS_ADDR set, on a
	// listener of their own, so Kong's route to the API never reaches them.
	var mx *metrics.Metrics
	if c.MetricsAddr != "" {
		mx = metrics.New(metrics.Options{PoolStatsFunc: st.PoolStats, FeedReadsFunc: revocationFeed.Reads, Logger: log})
	}
	svc, err := newAuthService(c, st, sg, log, mx, list)
	if err != nil {
		return err
	}
	if env.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
		log.Info("go gc percent set", "percent", gcPercent)
	}
	if env.Getenv("GOMEMLIMIT") == "" {
		limit := memoryLimit(svc.HashingMemory(), cgroupMemoryLimit("/sys/fs/cgroup"))
		debug.SetMemoryLimit(limit)
		log.Info("go memory limit set", "bytes", limit, "hashing_bytes", svc.HashingMemory())
	}
	// The revocation feed is served only with its credential set (else 404).
	var revocations http.Handler
	if c.RevocationFeedToken != "" {
		feedCtx, stopFeed := context.WithCancel(ctx)
		defer stopFeed()
		go revocationFeed.Run(feedCtx)
		revocations = api.NewRevocationFeed(revocationFeed, c.RevocationFeedToken, log, api.StreamConfig{
			Lifetime: c.RevocationStreamLifetime, MaxStreams: c.RevocationStreamMax, MaxPerAddress: c.RevocationStreamMaxPerAddress,
		})
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
		Issuer: c.Issuer, CORSAllowedOrigins: c.CORSAllowedOrigins, RefreshCookiePath: c.RefreshCookiePath,
		Revocations: revocations, Metrics: mx, TrustedProxies: c.TrustedProxies,
	})
	if err != nil {
		return err
	}
	cleanupCtx, stopCleanup := context.WithCancel(ctx)
	cleanupDone := make(chan struct{})
	go func() { defer close(cleanupDone); svc.RunCleanup(cleanupCtx, cleanupInterval) }()
	defer func() { stopCleanup(); <-cleanupDone }()
	for _, v := range c.Ignored {
		log.Warn("variable of the Django service has no effect here", "variable", v.Name, "instead", v.Replacement)
	}
	if c.SMTPURL == nil {
		log.Warn("SMTP_URL IS UNSET: VERIFICATION AND PASSWORD RESET TOKENS ARE WRITTEN TO THE LOG: set SMTP_URL in production (development only)")
	}
	if c.Throttle.Enabled && len(c.TrustedProxies) == 0 {
		log.Warn("TRUSTED_PROXIES is unset: each connection's peer is taken as the client; behind Kong or a load balancer set it to their addresses, or every client shares one address's login throttle")
	}
	if !c.Throttle.Enabled {
		log.Warn("THROTTLE_ENABLED=false: LOGIN, MAIL AND REGISTRATION THROTTLING IS OFF: passwords can be guessed without limit (load tests only)")
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
		ConnState:         env.connState,
	}
	srv.RegisterOnShutdown(revocationFeed.Stop) // long polls answer and streams end now, not at the drain deadline
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
	handler.Drain()
	srv.SetKeepAlivesEnabled(false)
	log.Info("draining: readiness fails, requests are still answered", "delay", c.ShutdownDrainDelay.String())
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-time.After(c.ShutdownDrainDelay):
	case <-env.drainEnd:
	}
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
