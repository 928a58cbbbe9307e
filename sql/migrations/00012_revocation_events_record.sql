-- One home for writing revocation events: revocation_events_record. Every
-- statement that revokes sessions (SessionRevoke, SessionRevokeBatch) calls
-- it, and so do the tests' helpers that fake revocations, instead of each
-- repeating how events are numbered, stored and announced.
--
-- It records one event per element of items, in order, numbered from
-- revocation_feed.last_seq, advanced under that row's lock (held until the
-- transaction ends: call it last, before only the audit row), and notifies
-- medinsights_revocations with the new last_seq, delivered at commit (unless
-- notify is false: only tests that simulate a lost notification pass it).
-- With no items it locks and notifies nothing. It returns the events
-- written.

-- +goose Up
CREATE TYPE revocation AS (
    session_id uuid,
    user_id    uuid,
    reason     text,
    revoked_at timestamptz,
    expires_at timestamptz
);

CREATE FUNCTION revocation_events_record(items revocation[], notify boolean DEFAULT true) RETURNS SETOF revocation_events
LANGUAGE sql VOLATILE AS $$
    WITH item AS (
        SELECT x.session_id, x.user_id, x.reason, x.revoked_at, x.expires_at, x.n, count(*) OVER () AS total
        FROM unnest(items) WITH ORDINALITY AS x (session_id, user_id, reason, revoked_at, expires_at, n)
    ), feed AS (
        UPDATE revocation_feed
        SET last_seq = revocation_feed.last_seq + (SELECT count(*) FROM item)
        WHERE EXISTS (SELECT 1 FROM item)
        RETURNING revocation_feed.last_seq
    ), event AS (
        INSERT INTO revocation_events (seq, session_id, user_id, reason, revoked_at, expires_at)
        SELECT feed.last_seq - item.total + item.n, item.session_id, item.user_id, item.reason, item.revoked_at, item.expires_at
        FROM item CROSS JOIN feed
        RETURNING revocation_events.*
    ), notified AS (
        SELECT pg_notify('medinsights_revocations', feed.last_seq::text) FROM feed WHERE notify
    )
    SELECT event.* FROM event
    WHERE (SELECT count(*) FROM notified) >= 0 -- makes the notification happen
    ORDER BY event.seq
$$;

-- +goose Down
DROP FUNCTION revocation_events_record(revocation[], boolean);
DROP TYPE revocation;
