-- ThrottleCounterHit counts one hit on each counter of @keys (parallel
-- arrays: one rule per item), in one statement. A counter whose period has
-- passed starts again at one; a counter that reaches its rule's max_hits is
-- blocked for delay, doubled at every further hit up to max_delay, and is
-- forgotten one period after its block ends. With @always false (rate
-- limits) nothing is counted while any of the counters is blocked, and a
-- counter blocked by a concurrent hit is not counted either: the caller
-- compares counted with the number of keys. blocked_until is the latest
-- block among the counters that were blocked before the statement (@now
-- when none was).
-- name: ThrottleCounterHit :one
WITH req AS (
    SELECT r.key, r.subject, r.max_hits, r.period, r.delay, r.max_delay
    FROM ROWS FROM (unnest(@keys::bytea[]), unnest(@subjects::bytea[]), unnest(@max_hits::integer[]),
                    unnest(@periods::interval[]), unnest(@delays::interval[]), unnest(@max_delays::interval[])) AS r (key, subject, max_hits, period, delay, max_delay)
), blocked AS (
    SELECT max(t.blocked_until) AS until FROM throttle_counters t JOIN req ON req.key = t.key
    WHERE t.blocked_until > @now::timestamptz
), counted AS (
    -- A new counter, or one whose period has passed (then excluded, the
    -- row as inserted, is its new state), starts at one hit.
    INSERT INTO throttle_counters AS t (key, subject, hits, started_at, blocked_until, expires_at, max_hits, period, delay, max_delay)
    SELECT req.key, req.subject, 1, @now, throttle_block(1, req.max_hits, @now, req.delay, req.max_delay),
           coalesce(throttle_block(1, req.max_hits, @now, req.delay, req.max_delay), @now) + req.period,
           req.max_hits, req.period, req.delay, req.max_delay
    FROM req
    WHERE @always::boolean OR NOT EXISTS (SELECT 1 FROM blocked WHERE blocked.until IS NOT NULL)
    ON CONFLICT (key) DO UPDATE
    SET hits = CASE WHEN t.expires_at <= excluded.started_at THEN 1 ELSE t.hits + 1 END,
        started_at = CASE WHEN t.expires_at <= excluded.started_at THEN excluded.started_at ELSE t.started_at END,
        blocked_until = CASE WHEN t.expires_at <= excluded.started_at THEN excluded.blocked_until
            ELSE throttle_block(t.hits + 1, excluded.max_hits, excluded.started_at, excluded.delay, excluded.max_delay) END,
        expires_at = CASE WHEN t.expires_at <= excluded.started_at THEN excluded.expires_at
            ELSE coalesce(throttle_block(t.hits + 1, excluded.max_hits, excluded.started_at, excluded.delay, excluded.max_delay),
                          t.started_at) + excluded.period END,
        subject = excluded.subject, max_hits = excluded.max_hits, period = excluded.period,
        delay = excluded.delay, max_delay = excluded.max_delay
    WHERE @always::boolean OR t.blocked_until IS NULL OR t.blocked_until <= excluded.started_at
    RETURNING t.key
)
SELECT (SELECT count(*) FROM counted)::bigint AS counted,
       coalesce((SELECT until FROM blocked), @now)::timestamptz AS blocked_until;

-- ThrottleCounterBlocked returns the latest block among @keys' counters,
-- or @now when none is blocked.
-- name: ThrottleCounterBlocked :one
SELECT coalesce(max(blocked_until), @now)::timestamptz AS blocked_until
FROM throttle_counters
WHERE key = ANY (@keys::bytea[]) AND blocked_until > @now::timestamptz;

-- ThrottleCounterDeleteBySubjects forgets every counter about these login
-- names (a password reset clears the user's login throttles).
-- name: ThrottleCounterDeleteBySubjects :exec
DELETE FROM throttle_counters WHERE subject = ANY (@subjects::bytea[]);

-- name: ThrottleCounterDeleteExpired :execrows
DELETE FROM throttle_counters
WHERE key IN (SELECT t.key FROM throttle_counters t WHERE t.expires_at < @before LIMIT @max_rows);
