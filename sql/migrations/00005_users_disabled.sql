-- A disabled user keeps the account but cannot log in: an administrator's
-- disable, or a Django user imported with is_active false. The login that
-- would start a session is refused exactly like a wrong password (the
-- session insert requires disabled_at IS NULL), so nobody can tell the two
-- apart. NULL: enabled.

-- +goose Up
ALTER TABLE users ADD COLUMN disabled_at timestamptz;

-- +goose Down
ALTER TABLE users DROP COLUMN disabled_at;
