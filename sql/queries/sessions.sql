-- SessionCreate starts a session together with its first refresh token, in
-- one statement, only while the user's password hash is still
-- @password_hash, the one the login verified, and returns the user as it is
-- then. The user row is locked FOR SHARE, so a password change or a role
-- change (which update the user row before revoking sessions, in one
-- transaction) either waits for this session and then revokes it, or
-- commits first: then this statement sees the new row, creates nothing on a
-- new password hash, and returns the new roles otherwise. A disabled user
-- (disabled_at set) gets no session: the login fails like a wrong password.
-- The same statement writes the login's audit row (event @audit_event)
-- when, and only when, it creates the session.
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
    INSERT INTO sessions (id, user_id, created_at, expires_at, last_access_exp, last_used_at, client_addr, user_agent, refresh_key)
    SELECT @id, owner.id, @now, @expires_at, @access_expires_at::timestamptz, @now, @client_addr, @user_agent, @refresh_key::bytea
    FROM owner
    RETURNING id, user_id
), token AS (
    INSERT INTO refresh_tokens (hash, session_id, issued_at, expires_at)
    SELECT @refresh_hash, session.id, @now, @expires_at FROM session
), audited AS (
    INSERT INTO audit_log (at, event, actor_id, subject_id, session_id, client_addr, user_agent)
    SELECT @now, @audit_event::text, session.user_id, session.user_id, session.id, @client_addr, @user_agent FROM session
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

-- SessionListLive lists a user's live sessions, newest first.
-- name: SessionListLive :many
SELECT id, created_at, last_used_at, client_addr, user_agent
FROM sessions
WHERE user_id = @user_id AND revoked_at IS NULL AND expires_at > @now
ORDER BY created_at DESC, id DESC
LIMIT @max_rows;

-- SessionRevoke ends the live sessions of one user that match the optional
-- filters (one session by id, the session of one refresh token, all but one
-- session) and records one revocation event per session
-- (revocation_events_record, migration 00012), all in one statement. An
-- event expires at the later of @event_expires_at and the session's
-- last_access_exp + @event_margin. The feed row is locked last, right before
-- the statement's transaction commits, which keeps seq order equal to commit
-- order; the notification is delivered at commit. Nothing is locked or
-- notified when no session matches. With @audit_event set, and when it ends a session, it
-- also writes one audit row about the user (reason and number of sessions
-- ended in its detail), after the feed row is locked. (Logouts use
-- SessionRevokeBatch below.)
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
), events AS (
    SELECT e.seq FROM revocation_events_record(ARRAY(
        SELECT ROW(revoked.id, revoked.user_id, @reason::text, @now::timestamptz,
                   greatest(@event_expires_at::timestamptz, revoked.last_access_exp + @event_margin::interval))::revocation
        FROM revoked ORDER BY revoked.id)) AS e
), audited AS (
    INSERT INTO audit_log (at, event, actor_id, subject_id, session_id, client_addr, user_agent, detail)
    SELECT @now, sqlc.narg('audit_event')::text, sqlc.narg('audit_actor_id')::uuid, @user_id,
           sqlc.narg('audit_session_id')::uuid, @audit_client_addr::text, @audit_user_agent::text,
           jsonb_build_object('reason', @reason::text, 'sessions_ended', ended.n)
    FROM (SELECT count(*) AS n FROM events) AS ended
    WHERE ended.n > 0 AND sqlc.narg('audit_event')::text IS NOT NULL
)
SELECT (SELECT count(*) FROM events)::bigint AS revoked,
       (SELECT coalesce(max(seq), 0) FROM events)::bigint AS last_seq;

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
-- as SessionRevoke does (revocation_events_record), so concurrent logouts share one turn at the feed
-- row instead of queueing for it one by one, and writes one audit row
-- (event audit_events[i], with client_addrs[i] and user_agents[i]) per
-- session revoked, after the feed row is locked. One row per
-- item, in order.
-- name: SessionRevokeBatch :many
WITH req AS (
    -- One function scan zips the arrays (a join of one unnest per array
    -- cost more to plan than the rest of the statement to run).
    SELECT r.i, r.user_id, r.caller_session_id, r.refresh_hash, r.now, r.reason, r.event_expires_at, r.event_margin,
           r.client_addr, r.user_agent, r.audit_event
    FROM ROWS FROM (unnest(@user_ids::uuid[]), unnest(@caller_session_ids::uuid[]), unnest(@refresh_hashes::bytea[]),
                    unnest(@nows::timestamptz[]), unnest(@reasons::text[]), unnest(@event_expires_ats::timestamptz[]),
                    unnest(@event_margins::interval[]), unnest(@client_addrs::text[]), unnest(@user_agents::text[]),
                    unnest(@audit_events::text[]))
         WITH ORDINALITY AS r (user_id, caller_session_id, refresh_hash, now, reason, event_expires_at, event_margin,
                               client_addr, user_agent, audit_event, i)
), live_callers AS (
    SELECT req.i FROM req
    JOIN sessions ON sessions.id = req.caller_session_id
    WHERE sessions.user_id = req.user_id AND sessions.revoked_at IS NULL
), targets AS (
    -- Only the items that may revoke their session take part; of several
    -- such items for one session, the first revokes it.
    SELECT DISTINCT ON (refresh_tokens.session_id) refresh_tokens.session_id, req.user_id, req.i,
           req.now, req.reason, req.event_expires_at, req.event_margin, req.client_addr, req.user_agent,
           req.audit_event
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
                       sessions.last_access_exp + targets.event_margin) AS event_expires_at,
              targets.client_addr, targets.user_agent, targets.audit_event
), events AS (
    SELECT e.seq, e.session_id FROM revocation_events_record(ARRAY(
        SELECT ROW(revoked.id, revoked.user_id, revoked.reason, revoked.now, revoked.event_expires_at)::revocation
        FROM revoked ORDER BY revoked.id)) AS e
), audited AS (
    INSERT INTO audit_log (at, event, actor_id, subject_id, session_id, client_addr, user_agent, detail)
    SELECT revoked.now, revoked.audit_event, revoked.user_id, revoked.user_id, revoked.id,
           revoked.client_addr, revoked.user_agent, jsonb_build_object('reason', revoked.reason)
    FROM revoked JOIN events ON events.session_id = revoked.id
    ORDER BY events.seq
)
SELECT req.i::bigint AS item,
       EXISTS (SELECT 1 FROM live_callers WHERE live_callers.i = req.i)::boolean AS caller_live,
       EXISTS (SELECT 1 FROM revoked WHERE revoked.i = req.i)::boolean AS revoked,
       (SELECT count(*) FROM events)::bigint AS events
FROM req
ORDER BY req.i;
