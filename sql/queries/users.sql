-- UserInsert creates a user and claims its login names (its username and
-- e-mail address, lower-cased) in one statement, and says which names it
-- could claim: a name another user holds, or is claiming in a transaction
-- not yet committed (this statement waits for it), is not claimed, and the
-- caller must then roll back.
-- name: UserInsert :one
WITH inserted AS (
    INSERT INTO users (id, username, email, password_hash, first_name, last_name, roles, date_joined, updated_at)
    VALUES (@id, @username, @email, @password_hash, @first_name, @last_name, @roles::text[], @now, @now)
    RETURNING *
), claimed AS (
    INSERT INTO login_names (name, user_id)
    SELECT DISTINCT lower(n.name), inserted.id
    FROM inserted CROSS JOIN unnest(ARRAY[inserted.username, inserted.email]) AS n (name)
    ON CONFLICT (name) DO NOTHING
    RETURNING name
)
SELECT inserted.*,
       EXISTS (SELECT 1 FROM claimed WHERE claimed.name = lower(inserted.username))::boolean AS username_claimed,
       EXISTS (SELECT 1 FROM claimed WHERE claimed.name = lower(inserted.email))::boolean AS email_claimed
FROM inserted;

-- name: UserGetByID :one
SELECT * FROM users WHERE id = @id;

-- name: UserGetByUsername :one
SELECT * FROM users WHERE lower(username) = lower(@username);

-- UserGetByLogin finds a user by username or e-mail address, any case. A
-- login name belongs to one user only (table login_names).
-- name: UserGetByLogin :one
SELECT users.* FROM login_names JOIN users ON users.id = login_names.user_id
WHERE login_names.name = lower(@login);

-- name: UserSetPasswordHash :one
UPDATE users SET password_hash = @password_hash, updated_at = @now
WHERE id = @id
RETURNING *;

-- UserRehashPassword replaces a password hash with a stronger one only while
-- the stored hash is still @old_hash, the one the login verified: a password
-- changed in the meantime is never overwritten. No row when it was.
-- name: UserRehashPassword :one
UPDATE users SET password_hash = @new_hash, updated_at = @now
WHERE id = @id AND password_hash = @old_hash
RETURNING *;

-- name: UserRoleAdd :one
UPDATE users
SET roles = (SELECT array_agg(DISTINCT r ORDER BY r) FROM unnest(array_append(roles, @role::text)) AS r),
    updated_at = @now
WHERE id = @id
RETURNING *;

-- name: UserRoleRemove :one
UPDATE users SET roles = array_remove(roles, @role::text), updated_at = @now
WHERE id = @id
RETURNING *;

-- UserSetDisabled disables (@disabled_at set) or enables (NULL) a user. It
-- ends no session by itself: the caller revokes them in the same transaction.
-- name: UserSetDisabled :one
UPDATE users SET disabled_at = @disabled_at, updated_at = @now
WHERE id = @id
RETURNING *;
