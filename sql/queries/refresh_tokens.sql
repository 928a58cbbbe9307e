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

-- RefreshTokenRotate retires the presented token (a no-op when it is already
-- retired, in the reuse interval), adds its successor, and extends the
-- session to the successor's expiry, in one statement.
-- name: RefreshTokenRotate :exec
WITH retired AS (
    UPDATE refresh_tokens SET retired_at = @now
    WHERE refresh_tokens.hash = @old_hash AND refresh_tokens.retired_at IS NULL
), extended AS (
    UPDATE sessions SET expires_at = @expires_at WHERE sessions.id = @session_id
)
INSERT INTO refresh_tokens (hash, session_id, issued_at, expires_at)
VALUES (@new_hash, @session_id, @now, @expires_at);

-- name: RefreshTokenOwner :one
SELECT sessions.user_id
FROM refresh_tokens JOIN sessions ON sessions.id = refresh_tokens.session_id
WHERE refresh_tokens.hash = @hash;
