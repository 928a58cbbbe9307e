-- UserInsert creates a user and claims its login names (its username and
-- e-mail address, lower-cased, each with its confusable skeleton) in one
-- statement, and says which names it could claim: a name, or a skeleton,
-- another user holds, or is claiming in a transaction not yet committed
-- (this statement waits for it), is not claimed, and the caller must then
-- roll back. A username and an address of the same user that look alike
-- share one row. @unverified_expires_at (NULL: never) is when the account
-- is deleted if its address is still unverified.
-- name: UserInsert :one
WITH inserted AS (
    INSERT INTO users (id, username, email, password_hash, first_name, last_name, roles, date_joined, updated_at, unverified_expires_at)
    VALUES (@id, @username, @email, @password_hash, @first_name, @last_name, @roles::text[], @now, @now,
            sqlc.narg('unverified_expires_at')::timestamptz)
    RETURNING *
), claimed AS (
    INSERT INTO login_names (name, user_id, skeleton)
    SELECT DISTINCT ON (n.skeleton) lower(n.name), inserted.id, n.skeleton
    FROM inserted CROSS JOIN LATERAL (VALUES (inserted.username, @username_skeleton::text),
                                             (inserted.email, @email_skeleton::text)) AS n (name, skeleton)
    ON CONFLICT DO NOTHING
    RETURNING skeleton
)
SELECT inserted.*,
       EXISTS (SELECT 1 FROM claimed WHERE claimed.skeleton = @username_skeleton::text)::boolean AS username_claimed,
       EXISTS (SELECT 1 FROM claimed WHERE claimed.skeleton = @email_skeleton::text)::boolean AS email_claimed
FROM inserted;

-- LoginNamesWithoutSkeleton lists up to @max_rows login names after @after
-- (in name order) whose skeleton is not recorded: those from before
-- migration 00008, and the look-alikes that could not have theirs.
-- name: LoginNamesWithoutSkeleton :many
SELECT name FROM login_names
WHERE skeleton IS NULL AND name > @after
ORDER BY name
LIMIT @max_rows;

-- LoginNameSetSkeleton records a name's skeleton unless another name
-- already has it; it says whether it did.
-- name: LoginNameSetSkeleton :execrows
UPDATE login_names SET skeleton = @skeleton
WHERE login_names.name = @name AND login_names.skeleton IS NULL
  AND NOT EXISTS (SELECT 1 FROM login_names other WHERE other.skeleton = @skeleton);

-- name: UserGetByID :one
SELECT * FROM users WHERE id = @id;

-- name: UserGetByUsername :one
SELECT * FROM users WHERE lower(username) = lower(@username);

-- UserGetForLogin is the one statement a login runs before the password
-- check: the user of a login name, username or e-mail address, any case (a
-- login name belongs to one user only: table login_names; no user: user_id
-- NULL), whether
-- @device_hash is a live device token of that user, and until when each of
-- the login's throttle counters is blocked (@now: not blocked). An unknown
-- login name's counters are read exactly like a known one's.
-- name: UserGetForLogin :one
SELECT users.id AS user_id, users.password_hash, (users.disabled_at IS NOT NULL)::boolean AS disabled,
       EXISTS (SELECT 1 FROM device_tokens
               WHERE device_tokens.hash = sqlc.narg('device_hash')::bytea AND device_tokens.user_id = users.id
                 AND device_tokens.expires_at > @now::timestamptz)::boolean AS device_known,
       coalesce((SELECT t.blocked_until FROM throttle_counters t WHERE t.key = @pair_key::bytea AND t.blocked_until > @now), @now)::timestamptz AS pair_blocked_until,
       coalesce((SELECT t.blocked_until FROM throttle_counters t WHERE t.key = @address_key::bytea AND t.blocked_until > @now), @now)::timestamptz AS address_blocked_until,
       coalesce((SELECT t.blocked_until FROM throttle_counters t WHERE t.key = @account_key::bytea AND t.blocked_until > @now), @now)::timestamptz AS account_blocked_until
FROM (VALUES (lower(@login::text))) AS req (name)
LEFT JOIN login_names ON login_names.name = req.name
LEFT JOIN users ON users.id = login_names.user_id;

-- name: UserSetPasswordHash :one
UPDATE users SET password_hash = @password_hash, updated_at = @now
WHERE id = @id
RETURNING *;

-- UserChangePassword replaces the password hash @old_hash, the one the
-- caller verified, by @new_hash, only while the caller's session is live
-- (not revoked, as SessionAuthenticate checks it), in one statement. The session row is locked FOR SHARE, so a revocation
-- in flight (logout-all) is waited for and then seen; the user row lock
-- makes a concurrent change wait, and then find its @old_hash gone. No row
-- when either is so (the caller tells which).
-- name: UserChangePassword :one
WITH caller AS (
    SELECT sessions.id FROM sessions
    WHERE sessions.id = @session_id AND sessions.user_id = @id AND sessions.revoked_at IS NULL
    FOR SHARE
)
UPDATE users SET password_hash = @new_hash, updated_at = @now
WHERE users.id = @id AND users.password_hash = @old_hash AND EXISTS (SELECT 1 FROM caller)
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

-- name: UserGetByIDForUpdate :one
SELECT * FROM users WHERE id = @id FOR UPDATE;

-- UserSetRoles replaces a user's roles by @roles, sorted and distinct.
-- name: UserSetRoles :one
UPDATE users
SET roles = (SELECT coalesce(array_agg(DISTINCT r ORDER BY r), '{}') FROM unnest(@roles::text[]) AS r),
    updated_at = @now
WHERE id = @id
RETURNING *;

-- UserSearch lists up to @max_rows users, by lower-cased username, after
-- @after, whose username or e-mail address (lower-cased) is LIKE @pattern
-- (a prefix pattern, escaped by the caller; an empty pattern matches
-- every user).
-- name: UserSearch :many
SELECT * FROM users
WHERE (@pattern::text = '' OR lower(username) LIKE @pattern::text OR lower(email) LIKE @pattern::text)
  AND lower(username) > @after::text
ORDER BY lower(username)
LIMIT @max_rows;

-- UserOverview is a user with the number of its live sessions and the time
-- of its last successful login (its latest @login_event audit row).
-- name: UserOverview :one
SELECT sqlc.embed(users),
       (SELECT count(*) FROM sessions
        WHERE sessions.user_id = users.id AND sessions.revoked_at IS NULL AND sessions.expires_at > @now)::bigint AS live_sessions,
       (SELECT max(audit_log.at) FROM audit_log
        WHERE audit_log.subject_id = users.id AND audit_log.event = @login_event::text) AS last_login_at
FROM users
WHERE users.id = @id;

-- UserListUnverifiedExpired lists up to @max_rows accounts whose address is
-- still unverified past their unverified_expires_at.
-- name: UserListUnverifiedExpired :many
SELECT id FROM users
WHERE unverified_expires_at < @before AND NOT email_verified
ORDER BY unverified_expires_at
LIMIT @max_rows;

-- UserDeleteUnverified deletes an account only while its address is still
-- unverified past its deadline; its login names, sessions and tokens go
-- with it (ON DELETE CASCADE).
-- name: UserDeleteUnverified :execrows
DELETE FROM users WHERE id = @id AND unverified_expires_at < @before AND NOT email_verified;

-- UserImport writes imported users in bulk (COPY); their login names are
-- claimed next by LoginNameImport, in the same transaction.
-- name: UserImport :copyfrom
INSERT INTO users (id, username, email, password_hash, first_name, last_name, email_verified, roles, date_joined, updated_at, disabled_at)
VALUES (@id, @username, @email, @password_hash, @first_name, @last_name, @email_verified, @roles, @date_joined, @updated_at, @disabled_at);

-- LoginNameLookup lower-cases each of @names as the issuer does (the
-- login_names rule) and says whether it is already a login name.
-- name: LoginNameLookup :many
SELECT n.name::text AS name, lower(n.name)::text AS lowered,
       EXISTS (SELECT 1 FROM login_names WHERE login_names.name = lower(n.name))::boolean AS taken
FROM unnest(@names::text[]) AS n (name);

-- LoginNameImport claims the login names of imported users in bulk
-- (COPY), lower-cased by LoginNameLookup as UserInsert lower-cases them.
-- One already claimed is a unique violation: the import checked them under
-- its lock, so only a registration committed in between can cause it, and
-- the import then rolls back.
-- name: LoginNameImport :copyfrom
INSERT INTO login_names (name, user_id) VALUES (@name, @user_id);

-- LoginNameImportSkeletons records the confusable skeletons of the login
-- names an import just claimed (@skeletons[i] is that of @names[i]), as
-- `issuer migrate up` does for the names from before migration 00008: a
-- name whose skeleton another name already has, or an earlier name of the
-- batch (in name order), keeps NULL and goes on working; no new look-alike
-- of either can register.
-- name: LoginNameImportSkeletons :execrows
UPDATE login_names SET skeleton = batch.skeleton
FROM (SELECT DISTINCT ON (k.skeleton) n.name, k.skeleton
      FROM unnest(@names::text[]) WITH ORDINALITY AS n (name, i)
      JOIN unnest(@skeletons::text[]) WITH ORDINALITY AS k (skeleton, i) ON k.i = n.i
      ORDER BY k.skeleton, n.name) AS batch
WHERE login_names.name = batch.name AND login_names.skeleton IS NULL
  AND NOT EXISTS (SELECT 1 FROM login_names other WHERE other.skeleton = batch.skeleton);
