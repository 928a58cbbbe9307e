// Package store is the only package that talks to PostgreSQL. It runs the
// queries sqlc generates from sql/queries, turns rows into the plain structs
// below, and turns driver errors into three sentinels (ErrNotFound,
// ErrConflict, ErrUnavailable) in one function, so no caller ever sees a pgx
// type.
package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/puddle/v2"

	"github.com/medinsights/auth/issuer/internal/store/dbsqlc"
)

// Sentinel errors. Check them with errors.Is.
var (
	// ErrNotFound: the row asked for does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict: a unique constraint refused the write; see ConflictError.
	ErrConflict = errors.New("conflict")
	// ErrUnavailable: the database cannot be reached or refuses connections
	// for now. The request may succeed when retried later.
	ErrUnavailable = errors.New("database unavailable")
	// ErrRetryable: the transaction lost a serialization failure (40001) or
	// a deadlock (40P01) and was rolled back; running it again may succeed.
	// Tx has already retried once.
	ErrRetryable = errors.New("transaction conflict: retry")
	// ErrUsernameTaken and ErrEmailTaken: UserInsert found the username or
	// the e-mail address already used as a login name (a username or an
	// e-mail address, any case) by another user. Both match ErrConflict.
	ErrUsernameTaken = fmt.Errorf("%w: username is taken", ErrConflict)
	ErrEmailTaken    = fmt.Errorf("%w: email address is taken", ErrConflict)
)

// ConflictError is a unique violation (SQLSTATE 23505). It matches
// ErrConflict and names the constraint (or unique index) that refused it.
type ConflictError struct {
	Constraint string
	err        error
}

func (e *ConflictError) Error() string { return "conflict on " + e.Constraint + ": " + e.err.Error() }

// Is makes errors.Is(err, ErrConflict) true.
func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

func (e *ConflictError) Unwrap() error { return e.err }

// interpretError is the one place where driver errors become this package's
// sentinels. Anything it does not recognize is returned unchanged, to be
// logged in full and answered with a bare 500.
func interpretError(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, ErrNotFound) || errors.Is(err, ErrConflict) || errors.Is(err, ErrUnavailable) || errors.Is(err, ErrRetryable) {
		return err
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return ErrNotFound
	}
	// A failed connection attempt carries the server's reason (the database
	// refuses connections, too many clients) as a PgError: test it first.
	var connectErr *pgconn.ConnectError
	if errors.As(err, &connectErr) {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case pgErr.Code == "23505":
			return &ConflictError{Constraint: pgErr.ConstraintName, err: err}
		case pgErr.Code == "40001", pgErr.Code == "40P01": // serialization failure, deadlock
			return fmt.Errorf("%w: %w", ErrRetryable, err)
		case strings.HasPrefix(pgErr.Code, "08"), // connection exception
			strings.HasPrefix(pgErr.Code, "53"),  // insufficient resources
			strings.HasPrefix(pgErr.Code, "57P"), // operator intervention: shutdown, terminated backend
			pgErr.Code == "55000" && strings.Contains(pgErr.Message, "not currently accepting connections"):
			return fmt.Errorf("%w: %w", ErrUnavailable, err)
		}
		return err
	}
	var netErr net.Error
	if errors.As(err, &netErr) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, net.ErrClosed) || errors.Is(err, context.DeadlineExceeded) || pgconn.SafeToRetry(err) ||
		errors.Is(err, pgconn.ErrConnClosed) || errors.Is(err, puddle.ErrClosedPool) {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	return err
}

// Config configures the connection pool.
type Config struct {
	URL      string
	MaxConns int32 // zero: pgxpool's default (the larger of 4 and the CPU count)
	// Counter, when set, counts every statement sent, BEGIN and COMMIT included.
	Counter *StatementCounter
	// FeedMaxConns bounds the revocation feed's own pool (zero: 2). Feed
	// reads never take a connection from the main pool, so however many
	// gateways follow the feed, logins and logouts never queue behind them.
	FeedMaxConns int32
}

// feedMaxConnsDefault is the feed pool's size: one connection for the
// window's reader and one for the (bounded, shared) snapshots and pages of
// readers behind the window.
const feedMaxConnsDefault = 2

// Store is the database. Its methods (those of the embedded Q) each run as a
// statement of their own; Tx runs several in one transaction.
type Store struct {
	*Q
	pool     *pgxpool.Pool
	feedPool *pgxpool.Pool // the revocation feed's reads only (see Config.FeedMaxConns)
	logouts  logoutBatcher
}

// New opens a pool. It does not wait for the database: a pool opened while
// PostgreSQL is down connects when it comes back, and requests meanwhile get
// ErrUnavailable.
func New(ctx context.Context, c Config) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(c.URL)
	if err != nil {
		return nil, fmt.Errorf("parse database url: %w", err)
	}
	if c.MaxConns > 0 {
		cfg.MaxConns = c.MaxConns
	}
	if cfg.ConnConfig.ConnectTimeout == 0 || cfg.ConnConfig.ConnectTimeout > 5*time.Second {
		cfg.ConnConfig.ConnectTimeout = 5 * time.Second
	}
	cfg.MaxConnIdleTime = 5 * time.Minute
	cfg.HealthCheckPeriod = 15 * time.Second
	if c.Counter != nil {
		cfg.ConnConfig.Tracer = c.Counter
	}
	feedCfg := cfg.Copy()
	feedCfg.MaxConns = cmp.Or(c.FeedMaxConns, feedMaxConnsDefault)
	feedCfg.MinConns = 0
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("open database pool: %w", err)
	}
	feedPool, err := pgxpool.NewWithConfig(ctx, feedCfg)
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("open feed database pool: %w", err)
	}
	return &Store{Q: &Q{db: pool, q: dbsqlc.New()}, pool: pool, feedPool: feedPool}, nil
}

// Close waits for connections in use to be returned and closes them all.
func (s *Store) Close() {
	s.feedPool.Close()
	s.pool.Close()
}

// Ping checks that a connection can be had and answers.
func (s *Store) Ping(ctx context.Context) error {
	return interpretError(s.pool.Ping(ctx))
}

// Tx runs fn in one transaction: committed when fn returns nil, rolled back
// otherwise (fn's error is returned as it is). Every state change that takes
// more than one statement goes through Tx, so a failure half-way leaves
// nothing behind. A transaction that loses a deadlock or a serialization
// failure is run once more, from the start, after a pause of 5-25 ms: fn
// must set everything it returns on each run (assign, never accumulate).
func (s *Store) Tx(ctx context.Context, fn func(q *Q) error) error {
	run := func() error {
		err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error { return fn(&Q{db: tx, q: s.Q.q}) })
		return interpretError(err)
	}
	err := run()
	if !errors.Is(err, ErrRetryable) {
		return err
	}
	// A short random pause first lets the transaction that won the
	// deadlock finish, rather than meeting it again at once.
	t := time.NewTimer(retryPauseMin + rand.N(retryPauseJitter))
	defer t.Stop()
	select {
	case <-ctx.Done():
		return err
	case <-t.C:
	}
	return run()
}

// The pause before Tx runs a transaction again.
const (
	retryPauseMin    = 5 * time.Millisecond
	retryPauseJitter = 20 * time.Millisecond
)

// Q runs the named queries on a pool or inside a transaction.
type Q struct {
	db dbsqlc.DBTX
	q  *dbsqlc.Queries
}

// StatementCounter counts the statements sent to PostgreSQL. It implements
// pgx.QueryTracer; tests and benchmarks use it to bound the statements per
// request.
type StatementCounter struct{ n atomic.Int64 }

// Count returns the number of statements sent so far.
func (c *StatementCounter) Count() int64 { return c.n.Load() }

// TraceQueryStart implements pgx.QueryTracer.
func (c *StatementCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	c.n.Add(1)
	return ctx
}

// TraceQueryEnd implements pgx.QueryTracer.
func (c *StatementCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}
