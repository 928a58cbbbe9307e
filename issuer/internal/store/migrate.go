package store

import (
	"context"
	"fmt"
	"io/fs"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	sqlfiles "github.com/medinsights/auth/sql"
)

// MigrationState is one migration and whether it is applied.
type MigrationState struct {
	Version   int64
	Name      string
	Applied   bool
	AppliedAt time.Time
}

// withMigrator opens a database/sql handle over pgx's stdlib driver and a
// goose provider over the embedded migrations. A session-level advisory lock
// makes replicas that migrate at the same time take turns.
func withMigrator(ctx context.Context, url string, fn func(*goose.Provider) error) error {
	cfg, err := pgx.ParseConfig(url)
	if err != nil {
		return fmt.Errorf("parse database url: %w", err)
	}
	db := stdlib.OpenDB(*cfg)
	defer db.Close()
	if err := db.PingContext(ctx); err != nil {
		return interpretError(err)
	}
	migrations, err := fs.Sub(sqlfiles.Migrations, "migrations")
	if err != nil {
		return fmt.Errorf("open embedded migrations: %w", err)
	}
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return fmt.Errorf("create migration lock: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, migrations, goose.WithSessionLocker(locker))
	if err != nil {
		return fmt.Errorf("create migration provider: %w", err)
	}
	return fn(p)
}

// Migrate applies every pending migration and returns the ones it applied.
func Migrate(ctx context.Context, url string) ([]MigrationState, error) {
	var applied []MigrationState
	err := withMigrator(ctx, url, func(p *goose.Provider) error {
		results, err := p.Up(ctx)
		if err != nil {
			return fmt.Errorf("apply migrations: %w", err)
		}
		for _, r := range results {
			applied = append(applied, MigrationState{Version: r.Source.Version, Name: r.Source.Path, Applied: true})
		}
		return nil
	})
	return applied, err
}

// Migrations lists every known migration and whether it is applied.
func Migrations(ctx context.Context, url string) ([]MigrationState, error) {
	var states []MigrationState
	err := withMigrator(ctx, url, func(p *goose.Provider) error {
		st, err := p.Status(ctx)
		if err != nil {
			return fmt.Errorf("read migration status: %w", err)
		}
		for _, s := range st {
			states = append(states, MigrationState{
				Version: s.Source.Version, Name: s.Source.Path,
				Applied: s.State == goose.StateApplied, AppliedAt: s.AppliedAt,
			})
		}
		return nil
	})
	return states, err
}
