-- name: EmailVerificationInsert :exec
INSERT INTO email_verifications (hash, user_id, created_at, expires_at)
VALUES (@hash, @user_id, @now, @expires_at);

-- EmailVerificationVoid makes every unused token of a user unusable.
-- name: EmailVerificationVoid :exec
UPDATE email_verifications SET used_at = @now::timestamptz
WHERE user_id = @user_id AND used_at IS NULL;

-- EmailVerificationUse spends a live token and marks its user's e-mail
-- address verified, in one statement; no row when the token is unknown,
-- used, voided or expired.
-- name: EmailVerificationUse :one
WITH spent AS (
    UPDATE email_verifications SET used_at = @now::timestamptz
    WHERE email_verifications.hash = @hash
      AND email_verifications.used_at IS NULL
      AND email_verifications.expires_at > @now
    RETURNING email_verifications.user_id
)
UPDATE users SET email_verified = true, updated_at = @now
FROM spent
WHERE users.id = spent.user_id
RETURNING users.*;

-- name: EmailVerificationDeleteExpired :execrows
DELETE FROM email_verifications
WHERE hash IN (SELECT e.hash FROM email_verifications e WHERE e.expires_at < @before LIMIT @max_rows);
