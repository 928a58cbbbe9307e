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

// SetWaitingFunc makes every reader that starts waiting for an event call fn.
func SetWaitingFunc(f *Feed, fn func()) { f.waitingFunc = fn }

// SetJoinedFunc makes every reader that joins a queued snapshot read call fn.
func SetJoinedFunc(f *Feed, fn func()) { f.joinedFunc = fn }

// SetPolledFunc makes the recheck call fn with every counter value it reads.
func SetPolledFunc(f *Feed, fn func(lastSeq int64)) { f.polledFunc = fn }
