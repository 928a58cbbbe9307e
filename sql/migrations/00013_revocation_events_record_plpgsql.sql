-- revocation_events_record (migration 00012) in PL/pgSQL: the same
-- arguments, result, order of locks and notification, with its statements'
-- plans cached for the connection. As a SQL function with side effects it
-- was planned anew on every call: about 0.4 ms of each logout, batched
-- logout, role change and password change, against 0.06 ms now
-- (BenchmarkRequestCost in issuer/internal/api, docs/audit.md "Cost").

-- +goose Up
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION revocation_events_record(items revocation[], notify boolean DEFAULT true) RETURNS SETOF revocation_events
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    total bigint := coalesce(cardinality(items), 0);
    last bigint;
BEGIN
    IF total = 0 THEN
        RETURN;
    END IF;
    -- The feed's row lock, held until the transaction ends, numbers the
    -- events in commit order.
    UPDATE revocation_feed SET last_seq = revocation_feed.last_seq + total
    RETURNING revocation_feed.last_seq INTO last;
    RETURN QUERY
        INSERT INTO revocation_events (seq, session_id, user_id, reason, revoked_at, expires_at)
        SELECT last - total + x.n, x.session_id, x.user_id, x.reason, x.revoked_at, x.expires_at
        FROM unnest(items) WITH ORDINALITY AS x (session_id, user_id, reason, revoked_at, expires_at, n)
        ORDER BY x.n
        RETURNING revocation_events.*;
    IF notify THEN
        PERFORM pg_notify('medinsights_revocations', last::text);
    END IF;
END
$$;
-- +goose StatementEnd

-- +goose Down
-- +goose StatementBegin
CREATE OR REPLACE FUNCTION revocation_events_record(items revocation[], notify boolean DEFAULT true) RETURNS SETOF revocation_events
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
-- +goose StatementEnd
