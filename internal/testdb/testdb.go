// Package testdb gives each test a PostgreSQL database of its own on the
// server named by TEST_DATABASE_URL, which `make test` starts when it is not
// set. A test that cannot reach the server fails; it never skips.
package testdb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvVar names the server that holds the test databases.
const EnvVar = "TEST_DATABASE_URL"

// ServerURL returns TEST_DATABASE_URL, failing t when it is unset.
func ServerURL(t testing.TB) string {
	t.Helper()
	u := os.Getenv(EnvVar)
	if u == "" {
		t.Fatalf("%s is unset: run the tests with `make test`, which starts a private PostgreSQL", EnvVar)
	}
	return u
}

// New creates an empty database, drops it when t ends, and returns its URL.
func New(t testing.TB) string {
	t.Helper()
	server := ServerURL(t)
	suffix := make([]byte, 8)
	_, _ = rand.Read(suffix)
	name := "test_" + hex.EncodeToString(suffix)

	exec(t, server, "CREATE DATABASE "+name)
	t.Cleanup(func() { exec(t, server, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)") })

	return WithDatabase(t, server, name)
}

// WithDatabase returns server's connection string naming database name.
func WithDatabase(t testing.TB, server, name string) string {
	t.Helper()
	if !strings.Contains(server, "://") { // keyword/value form: the last dbname wins
		return server + " dbname=" + name
	}
	u, err := url.Parse(server)
	if err != nil {
		t.Fatalf("parse %s: %v", EnvVar, err)
	}
	u.Path = "/" + name
	return u.String()
}

func exec(t testing.TB, server, sql string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, server)
	if err != nil {
		t.Fatalf("connect to test server: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}
