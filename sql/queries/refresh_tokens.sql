-- RefreshTokenGetForUpdate reads a refresh token with its session and user,
-- locking the token and the session until the transaction ends, so that two
-- refreshes of one session, or a refresh and a revocation, run one after the
-- other and each sees what the other wrote.
-- name: RefreshTokenGetForUpdate :one
SELECT sqlc.embed(refresh_tokens), sqlc.embed(sessions), sqlc.embed(users)
FROM refresh_tokens
JOIN sessions ON sessions.id = refresh_tokens.session_id
JOIN users ON users.id = sessions.user_id
WHERE refresh_tokens.hash = @hash
FOR UPDATE OF refresh_tokens, sessions;

-- RefreshTokenRotate is the rotation of a token presented again within the
-- reuse interval (or of a live token the fast path did not take): it
-- retires the presented token (a no-op when it is already retired),
-- extends the session to @expires_at, records the exp of the access token
-- about to be signed and when and from where the session was used, and
-- returns the successor, which is the same one RefreshTokenRotateLive
-- returned the first time (it is stored unless it already is), in one
-- statement.
-- name: RefreshTokenRotate :one
WITH retired AS (
    UPDATE refresh_tokens SET retired_at = @now::timestamptz
    WHERE refresh_tokens.hash = @old_hash AND refresh_tokens.retired_at IS NULL
), extended AS (
    UPDATE sessions
    SET expires_at = @expires_at, last_access_exp = greatest(sessions.last_access_exp, @access_expires_at::timestamptz),
        last_used_at = @now, client_addr = @client_addr::text, user_agent = @user_agent::text
    WHERE sessions.id = @session_id
    RETURNING hmac_sha256(sessions.refresh_key, @successor_seed::bytea) AS successor
), issued AS (
    INSERT INTO refresh_tokens (hash, session_id, issued_at, expires_at)
    SELECT refresh_token_hash(extended.successor), @session_id, @now, @expires_at FROM extended
    ON CONFLICT (hash) DO NOTHING
)
SELECT extended.successor::bytea FROM extended;

-- name: RefreshTokenOwner :one
SELECT sessions.user_id
FROM refresh_tokens JOIN sessions ON sessions.id = refresh_tokens.session_id
WHERE refresh_tokens.hash = @hash;

-- RefreshTokenRotateLive is the common case of a refresh in one statement:
-- when the token is live and its session too, it retires the token, extends
-- the session (recording when and from where it was used), stores the
-- successor and returns the session's id, user and the successor's 32
-- bytes: HMAC-SHA256(session's refresh_key, @successor_seed), so the same
-- token presented again gets the same successor (RefreshTokenRotate), never
-- a second chain.
-- Otherwise it returns no row and the caller takes the slow path
-- (RefreshTokenGetForUpdate) to tell a retry within the reuse interval from
-- reuse or a dead token. A concurrent rotation of the same token waits on
-- the token's row lock and then finds it retired; a concurrent revocation of
-- the session waits on the session's, or makes this one find it revoked.
-- With @user_id set, a token of another user's session is left untouched.
-- name: RefreshTokenRotateLive :one
WITH retired AS (
    UPDATE refresh_tokens
    SET retired_at = @now::timestamptz
    WHERE refresh_tokens.hash = @old_hash
      AND refresh_tokens.retired_at IS NULL
      AND refresh_tokens.expires_at > @now
      AND (sqlc.narg('user_id')::uuid IS NULL OR refresh_tokens.session_id IN (
          SELECT sessions.id FROM sessions WHERE sessions.user_id = sqlc.narg('user_id')::uuid))
    RETURNING refresh_tokens.session_id
), extended AS (
    UPDATE sessions
    SET expires_at = @expires_at, last_access_exp = greatest(sessions.last_access_exp, @access_expires_at::timestamptz),
        last_used_at = @now, client_addr = @client_addr::text, user_agent = @user_agent::text
    FROM retired
    WHERE sessions.id = retired.session_id
      AND sessions.revoked_at IS NULL
      AND sessions.expires_at > @now
    RETURNING sessions.id, sessions.user_id, hmac_sha256(sessions.refresh_key, @successor_seed::bytea) AS successor
), issued AS (
    INSERT INTO refresh_tokens (hash, session_id, issued_at, expires_at)
    SELECT refresh_token_hash(extended.successor), extended.id, @now, @expires_at FROM extended
)
SELECT extended.id AS session_id, extended.successor::bytea AS successor, sqlc.embed(users)
FROM extended JOIN users ON users.id = extended.user_id;
