-- RevocationFeedHead returns the feed's last sequence number and the highest
-- one pruned. The feed (GET /api/auth/revocations/) reads it and one of the
-- lists below in one REPEATABLE READ transaction, so the cursor and the
-- events come from the same snapshot. SessionRevoke (sessions.sql) writes
-- the events.
-- name: RevocationFeedHead :one
SELECT last_seq, pruned_through FROM revocation_feed;

-- RevocationFeedSnapshot lists every event up to @through still alive after
-- @alive_after, oldest first.
-- name: RevocationFeedSnapshot :many
SELECT seq, session_id, expires_at, committed_at FROM revocation_events
WHERE seq <= @through AND expires_at > @alive_after
ORDER BY seq;

-- RevocationFeedAfter lists up to @max_events events after @after and up to
-- @through still alive after @alive_after, oldest first.
-- name: RevocationFeedAfter :many
SELECT seq, session_id, expires_at, committed_at FROM revocation_events
WHERE seq > @after AND seq <= @through AND expires_at > @alive_after
ORDER BY seq
LIMIT @max_events;

-- RevocationFeedTail is the read that fills an issuer's in-memory window of
-- recent events (issuer/internal/feed): the head and up to @max_events
-- events after @after in one statement, so both come from one snapshot and
-- cost one round trip. When nothing follows @after it returns one row
-- whose seq is 0 (no event has it). Dead events are listed too: the window
-- filters them when it answers, and a reader's cursor still passes them.
-- name: RevocationFeedTail :many
SELECT feed.last_seq, feed.pruned_through,
       coalesce(e.seq, 0)::bigint AS seq,
       coalesce(e.session_id, '00000000-0000-0000-0000-000000000000')::uuid AS session_id,
       coalesce(e.expires_at, 'epoch')::timestamptz AS expires_at,
       coalesce(e.committed_at, 'epoch')::timestamptz AS committed_at
FROM revocation_feed AS feed
LEFT JOIN LATERAL (
    SELECT revocation_events.seq, revocation_events.session_id,
           revocation_events.expires_at, revocation_events.committed_at
    FROM revocation_events
    WHERE revocation_events.seq > @after AND revocation_events.seq <= feed.last_seq
    ORDER BY revocation_events.seq
    LIMIT @max_events
) AS e ON true
ORDER BY e.seq;

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
