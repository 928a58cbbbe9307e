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

// OnPublished makes f call fn after it publishes each window (each fill
// read that ended). Call it before Run.
func OnPublished(f *Feed, fn func()) { f.hooks.Published = func(int64) { fn() } }

// OnSnapshotJoined makes f call fn after each reader joins a shared
// snapshot read.
func OnSnapshotJoined(f *Feed, fn func()) { f.hooks.Joined = fn }
