package feed

import (
	"context"

	"github.com/medinsights/auth/issuer/internal/store"
)

// WrapSnapshotRead replaces the database read that concurrent snapshot
// readers share with wrap(the current one), so a test can hold it.
func WrapSnapshotRead(f *Feed, wrap func(read func(context.Context) (store.FeedPage, error)) func(context.Context) (store.FeedPage, error)) {
	f.snapshotReadFunc = wrap(f.snapshotReadFunc)
}

// OnSnapshotJoined makes f call fn after each reader joins a shared
// snapshot read.
func OnSnapshotJoined(f *Feed, fn func()) { f.hooks.Joined = fn }
