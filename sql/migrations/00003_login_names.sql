-- Every name a user can log in with (the username and the e-mail address,
-- lower-cased) in one table with one primary key, so a username can never
-- equal another user's e-mail address, nor an address another user's
-- username, and a login name always resolves to one user. Registration
-- inserts the names in its transaction: of two concurrent registrations
-- claiming one name, the unique index makes the second fail.

-- +goose Up
CREATE TABLE login_names (
    name    text PRIMARY KEY CHECK (name = lower(name)),
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE
);
CREATE INDEX login_names_user_idx ON login_names (user_id);
-- Existing users: usernames first. Where a username already equals another
-- user's e-mail address, the name keeps resolving to the username's owner,
-- as logins did before this table (the username won); the other user logs
-- in with their username.
INSERT INTO login_names (name, user_id) SELECT lower(username), id FROM users;
INSERT INTO login_names (name, user_id) SELECT lower(email), id FROM users ON CONFLICT (name) DO NOTHING;

-- +goose Down
DROP TABLE login_names;
