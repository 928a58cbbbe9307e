package store

// SetLogoutQueuedFunc makes every logout that queues behind a running batch
// call fn with the queue's length, under the batcher's lock (fn must not
// block).
func SetLogoutQueuedFunc(s *Store, fn func(queued int)) { s.logouts.queuedFunc = fn }

// SetLogoutBatchFunc makes the leader of every logout batch call fn with
// the batch's size just before it runs it (fn must not block).
func SetLogoutBatchFunc(s *Store, fn func(size int)) { s.logouts.batchFunc = fn }
