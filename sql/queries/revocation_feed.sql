-- RevocationFeedHead returns the feed's last sequence number and the highest
-- one pruned. The feed (GET /api/auth/revocations/) reads it and one of the
-- lists below in one REPEATABLE READ transaction, so the cursor and the
-- events come from the same snapshot. SessionRevoke (sessions.sql) writes
-- the events.
-- name: RevocationFeedHead :one
SELECT last_seq, pruned_through FROM revocation_feed;

-- RevocationFeedSnapshot lists every event up to @through still alive after
-- @alive_after, oldest first. committed_at is the event's revoked_at, the
-- revoking transaction's time (gateways measure propagation lag from it).
-- name: RevocationFeedSnapshot :many
SELECT seq, session_id, expires_at, revoked_at AS committed_at FROM revocation_events
WHERE seq <= @through AND expires_at > @alive_after
ORDER BY seq;

-- RevocationFeedAfter lists up to @max_events events after @after and up to
-- @through still alive after @alive_after, oldest first.
-- name: RevocationFeedAfter :many
SELECT seq, session_id, expires_at, revoked_at AS committed_at FROM revocation_events
WHERE seq > @after AND seq <= @through AND expires_at > @alive_after
ORDER BY seq
LIMIT @max_events;

-- RevocationFeedPrune deletes the events dead at @dead_before and raises
-- pruned_through to the highest seq it deleted, in one statement: a reader
-- whose cursor is below pruned_through gets a snapshot instead of a list
-- with holes.
-- name: RevocationFeedPrune :one
WITH pruned AS (
    DELETE FROM revocation_events
    WHERE expires_at <= @dead_before
    RETURNING seq
)
UPDATE revocation_feed
SET pruned_through = greatest(pruned_through, (SELECT max(seq) FROM pruned))
RETURNING pruned_through, (SELECT count(*) FROM pruned)::bigint AS pruned;
