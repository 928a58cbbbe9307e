package store

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/medinsights/auth/issuer/internal/identifier"
	"github.com/medinsights/auth/issuer/internal/store/dbsqlc"
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

// Migrate applies every pending migration and returns the ones it applied,
// then records the confusable skeleton of every login name that has none
// (SQL cannot compute one: see migration 00008).
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
	if err != nil {
		return applied, err
	}
	return applied, backfillSkeletons(ctx, url)
}

// backfillSkeletons records the skeleton of each login name without one, in
// name order, unless another name has it already (a look-alike pair from
// before the skeletons keeps working; the second name stays without one).
// Each name is one statement, so a registration racing it fails at most
// this name's update, which is then left for the next run.
func backfillSkeletons(ctx context.Context, url string) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return interpretError(err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	q := dbsqlc.New()
	after := ""
	for {
		names, err := q.LoginNamesWithoutSkeleton(ctx, conn, dbsqlc.LoginNamesWithoutSkeletonParams{After: after, MaxRows: 1000})
		if err != nil {
			return fmt.Errorf("list login names without a skeleton: %w", interpretError(err))
		}
		if len(names) == 0 {
			return nil
		}
		for _, name := range names {
			skeleton := pgtype.Text{String: identifier.Skeleton(name), Valid: true}
			_, err := q.LoginNameSetSkeleton(ctx, conn, dbsqlc.LoginNameSetSkeletonParams{Name: name, Skeleton: skeleton})
			if err = interpretError(err); err != nil && !errors.Is(err, ErrConflict) {
				return fmt.Errorf("record a login name's skeleton: %w", err)
			}
		}
		after = names[len(names)-1]
	}
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
