-- PasswordResetCreate stores a reset token for the enabled user whose
-- e-mail address is @email (any case), and supersedes that user's unused
-- tokens, in one statement; it returns the user's id and stored address, or
-- no row when no enabled user has that address. The user row is locked, so
-- two requests for one user supersede one after the other.
-- name: PasswordResetCreate :one
WITH owner AS (
    SELECT users.id, users.email FROM users
    WHERE lower(users.email) = lower(@email) AND users.disabled_at IS NULL
    FOR UPDATE
), superseded AS (
    UPDATE password_resets SET used_at = @now::timestamptz
    FROM owner
    WHERE password_resets.user_id = owner.id AND password_resets.used_at IS NULL
), inserted AS (
    INSERT INTO password_resets (hash, user_id, created_at, expires_at)
    SELECT @hash, owner.id, @now, @expires_at FROM owner
)
SELECT owner.id, owner.email FROM owner;

-- PasswordResetGetUser returns the enabled user of a live reset token.
-- name: PasswordResetGetUser :one
SELECT users.* FROM password_resets JOIN users ON users.id = password_resets.user_id
WHERE password_resets.hash = @hash
  AND password_resets.used_at IS NULL
  AND password_resets.expires_at > @now
  AND users.disabled_at IS NULL;

-- PasswordResetUse spends a live reset token and every other unused token
-- of its user, sets the user's password hash and marks the e-mail address
-- verified (the user has just proved they own the mailbox), in one
-- statement. No row when the token is unknown, used, superseded or expired,
-- or its user disabled. Of two uses of one token, the second waits for the
-- first's row lock, then finds the token used.
-- name: PasswordResetUse :one
WITH spent AS (
    UPDATE password_resets SET used_at = @now::timestamptz
    WHERE password_resets.used_at IS NULL
      AND password_resets.user_id = (
          SELECT r.user_id FROM password_resets r
          WHERE r.hash = @hash AND r.used_at IS NULL AND r.expires_at > @now)
    RETURNING password_resets.user_id, password_resets.hash
)
UPDATE users
SET password_hash = @password_hash, email_verified = true, unverified_expires_at = NULL, updated_at = @now
FROM spent
WHERE users.id = spent.user_id AND spent.hash = @hash::bytea AND users.disabled_at IS NULL
RETURNING users.*;

-- name: PasswordResetDeleteExpired :execrows
DELETE FROM password_resets
WHERE hash IN (SELECT r.hash FROM password_resets r WHERE r.expires_at < @before LIMIT @max_rows);
