-- LoginNameInsert claims a login name (a username or an e-mail address) for
-- a user; a name any user already has is a unique violation.
-- name: LoginNameInsert :exec
INSERT INTO login_names (name, user_id) VALUES (lower(@name), @user_id);
