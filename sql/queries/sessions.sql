-- SessionCreate starts a session together with its first refresh token, in
-- one statement, only while the user's password hash is still
-- @password_hash, the one the login verified, and returns the user as it is
-- then. The user row is locked FOR SHARE, so a password change or a role
-- change (which update the user row before revoking sessions, in one
-- transaction) either waits for this session and then revokes it, or
-- commits first: then this statement sees the new row, creates nothing on a
-- new password hash, and returns the new roles otherwise. A disabled user
-- (disabled_at set) gets no session: the login fails like a wrong password.
-- With the session, the same statement stores (or extends) the device token
-- @device_hash of the user, when set, and forgets the throttle counter
-- @throttle_key, when set: a successful login resets its pair's counter.
-- @refresh_key keys the derivation of every successor refresh token
-- (RefreshTokenRotateLive).
-- name: SessionCreate :one
WITH owner AS (
    SELECT users.* FROM users
    WHERE users.id = @user_id AND users.password_hash = @password_hash
      AND users.disabled_at IS NULL
    FOR SHARE
), session AS (
    INSERT INTO sessions (id, user_id, created_at, expires_at, last_access_exp, refresh_key)
    SELECT @id, owner.id, @now, @expires_at, @access_expires_at::timestamptz, @refresh_key::bytea FROM owner
    RETURNING id
), token AS (
    INSERT INTO refresh_tokens (hash, session_id, issued_at, expires_at)
    SELECT @refresh_hash, session.id, @now, @expires_at FROM session
), device AS (
    INSERT INTO device_tokens (hash, user_id, created_at, expires_at)
    SELECT sqlc.narg('device_hash')::bytea, owner.id, @now, @device_expires_at::timestamptz
    FROM owner CROSS JOIN session
    WHERE sqlc.narg('device_hash')::bytea IS NOT NULL
    ON CONFLICT (hash) DO UPDATE SET expires_at = excluded.expires_at
    WHERE device_tokens.user_id = excluded.user_id
), cleared AS (
    DELETE FROM throttle_counters
    WHERE throttle_counters.key = sqlc.narg('throttle_key')::bytea AND EXISTS (SELECT 1 FROM session)
)
SELECT owner.* FROM owner CROSS JOIN session;

-- SessionAuthenticate returns the user of a live session: the check behind
-- every Bearer endpoint, so a revoked session's access token is refused at once.
-- name: SessionAuthenticate :one
SELECT users.*
FROM sessions JOIN users ON users.id = sessions.user_id
WHERE sessions.id = @session_id AND sessions.user_id = @user_id AND sessions.revoked_at IS NULL;

-- name: SessionGetByID :one
SELECT * FROM sessions WHERE id = @id;

-- SessionRevoke ends the live sessions of one user that match the optional
-- filters (one session by id, the session of one refresh token, all but one
-- session) and records one revocation event per session, all in one
-- statement. An event expires at the later of @event_expires_at and the
-- session's last_access_exp + @event_margin. The feed row is locked last, right before the statement's
-- transaction commits, which keeps seq order equal to commit order; the
-- notification is delivered at commit. Nothing is locked or notified when no
-- session matches. (Logouts use SessionRevokeBatch below.)
-- name: SessionRevoke :one
WITH revoked AS (
    UPDATE sessions
    SET revoked_at = @now::timestamptz, revoke_reason = @reason::text
    WHERE sessions.user_id = @user_id
      AND sessions.revoked_at IS NULL
      AND sessions.expires_at > @now
      AND (sqlc.narg('only_session_id')::uuid IS NULL OR sessions.id = sqlc.narg('only_session_id')::uuid)
      AND (sqlc.narg('except_session_id')::uuid IS NULL OR sessions.id <> sqlc.narg('except_session_id')::uuid)
      AND (sqlc.narg('refresh_hash')::bytea IS NULL OR sessions.id = (
          SELECT refresh_tokens.session_id FROM refresh_tokens WHERE refresh_tokens.hash = sqlc.narg('refresh_hash')::bytea))
    RETURNING sessions.id, sessions.user_id, sessions.last_access_exp
), expiry AS (
    SELECT @event_expires_at::timestamptz AS at, @event_margin::interval AS margin
), numbered AS (
    SELECT revoked.id, revoked.user_id, revoked.last_access_exp, row_number() OVER (ORDER BY revoked.id) AS n,
           count(*) OVER () AS total
    FROM revoked
), feed AS (
    UPDATE revocation_feed
    SET last_seq = last_seq + (SELECT count(*) FROM revoked)
    WHERE EXISTS (SELECT 1 FROM revoked)
    RETURNING last_seq
), events AS (
    INSERT INTO revocation_events (seq, session_id, user_id, reason, revoked_at, expires_at)
    SELECT feed.last_seq - numbered.total + numbered.n, numbered.id, numbered.user_id,
           @reason::text, @now, greatest(expiry.at, numbered.last_access_exp + expiry.margin)
    FROM numbered CROSS JOIN feed CROSS JOIN expiry
    RETURNING seq
), notified AS (
    SELECT pg_notify('medinsights_revocations', feed.last_seq::text) FROM feed
)
SELECT (SELECT count(*) FROM events)::bigint AS revoked,
       (SELECT coalesce(max(seq), 0) FROM events)::bigint AS last_seq,
       (SELECT count(*) FROM notified)::bigint AS notified;

-- SessionDeleteExpired deletes up to @max_rows sessions that expired before
-- @before, with their refresh tokens (ON DELETE CASCADE). Retired refresh
-- tokens are kept until then: reuse detection needs them.
-- name: SessionDeleteExpired :execrows
DELETE FROM sessions
WHERE id IN (SELECT s.id FROM sessions s WHERE s.expires_at < @before LIMIT @max_rows);

-- SessionRevokeBatch is many logouts in one statement, from any users: for
-- item i, the session of refresh_hashes[i] is revoked at nows[i] for
-- reasons[i], its event expiring at the later of event_expires_ats[i] and
-- the session's last_access_exp + event_margins[i], when it is a live
-- session of user_ids[i] and caller_session_ids[i] is a live session of the
-- same user. It writes the events, advances the feed and notifies exactly
-- as SessionRevoke does, so concurrent logouts share one turn at the feed
-- row instead of queueing for it one by one. One row per item, in order.
-- name: SessionRevokeBatch :many
WITH req AS (
    SELECT u.i, u.user_id, c.caller_session_id, h.refresh_hash, n.now, r.reason, e.event_expires_at, m.event_margin
    FROM unnest(@user_ids::uuid[]) WITH ORDINALITY AS u (user_id, i)
    JOIN unnest(@caller_session_ids::uuid[]) WITH ORDINALITY AS c (caller_session_id, i) ON c.i = u.i
    JOIN unnest(@refresh_hashes::bytea[]) WITH ORDINALITY AS h (refresh_hash, i) ON h.i = u.i
    JOIN unnest(@nows::timestamptz[]) WITH ORDINALITY AS n (now, i) ON n.i = u.i
    JOIN unnest(@reasons::text[]) WITH ORDINALITY AS r (reason, i) ON r.i = u.i
    JOIN unnest(@event_expires_ats::timestamptz[]) WITH ORDINALITY AS e (event_expires_at, i) ON e.i = u.i
    JOIN unnest(@event_margins::interval[]) WITH ORDINALITY AS m (event_margin, i) ON m.i = u.i
), live_callers AS (
    SELECT req.i FROM req
    JOIN sessions ON sessions.id = req.caller_session_id
    WHERE sessions.user_id = req.user_id AND sessions.revoked_at IS NULL
), targets AS (
    -- Only the items that may revoke their session take part; of several
    -- such items for one session, the first revokes it.
    SELECT DISTINCT ON (refresh_tokens.session_id) refresh_tokens.session_id, req.user_id, req.i,
           req.now, req.reason, req.event_expires_at, req.event_margin
    FROM req
    JOIN live_callers ON live_callers.i = req.i
    JOIN refresh_tokens ON refresh_tokens.hash = req.refresh_hash
    JOIN sessions AS target ON target.id = refresh_tokens.session_id AND target.user_id = req.user_id
    ORDER BY refresh_tokens.session_id, req.i
), revoked AS (
    UPDATE sessions
    SET revoked_at = targets.now, revoke_reason = targets.reason
    FROM targets
    WHERE sessions.id = targets.session_id
      AND sessions.user_id = targets.user_id
      AND sessions.revoked_at IS NULL
      AND sessions.expires_at > targets.now
    RETURNING sessions.id, sessions.user_id, targets.i, targets.now, targets.reason,
              greatest(targets.event_expires_at,
                       sessions.last_access_exp + targets.event_margin) AS event_expires_at
), numbered AS (
    SELECT revoked.id, revoked.user_id, revoked.now, revoked.reason, revoked.event_expires_at,
           row_number() OVER (ORDER BY revoked.id) AS n, count(*) OVER () AS total
    FROM revoked
), feed AS (
    UPDATE revocation_feed
    SET last_seq = last_seq + (SELECT count(*) FROM revoked)
    WHERE EXISTS (SELECT 1 FROM revoked)
    RETURNING last_seq
), events AS (
    INSERT INTO revocation_events (seq, session_id, user_id, reason, revoked_at, expires_at)
    SELECT feed.last_seq - numbered.total + numbered.n, numbered.id, numbered.user_id,
           numbered.reason, numbered.now, numbered.event_expires_at
    FROM numbered CROSS JOIN feed
    RETURNING seq
), notified AS (
    SELECT pg_notify('medinsights_revocations', feed.last_seq::text) FROM feed
)
SELECT req.i::bigint AS item,
       EXISTS (SELECT 1 FROM live_callers WHERE live_callers.i = req.i)::boolean AS caller_live,
       EXISTS (SELECT 1 FROM revoked WHERE revoked.i = req.i)::boolean AS revoked,
       (SELECT count(*) FROM events)::bigint AS events,
       (SELECT count(*) FROM notified)::bigint AS notified
FROM req
ORDER BY req.i;
