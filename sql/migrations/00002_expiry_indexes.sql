-- Indexes for the periodic deletion of expired sessions (their refresh
-- tokens go with them) and expired verification tokens.

-- +goose Up
CREATE INDEX sessions_expires_idx ON sessions (expires_at);
CREATE INDEX email_verifications_expires_idx ON email_verifications (expires_at);

-- +goose Down
DROP INDEX email_verifications_expires_idx;
DROP INDEX sessions_expires_idx;
