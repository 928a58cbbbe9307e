-- The latest exp of an access token signed for a session, recorded by the
-- login and every refresh in the statement they already run. A revocation
-- event lives until the later of (revocation time + the access token
-- lifetime of the moment) and this, plus margins: a token signed before
-- JWT_ACCESS_TOKEN_LIFETIME was lowered is still covered. NULL for sessions
-- from before this column (their tokens have the lifetime of the moment).

-- +goose Up
ALTER TABLE sessions ADD COLUMN last_access_exp timestamptz;

-- +goose Down
ALTER TABLE sessions DROP COLUMN last_access_exp;
