-- Password reset tokens, device tokens, the throttle counters shared by
-- every replica, and the deadline of a self-registered account that is
-- still unverified (docs/password-reset.md, docs/throttling.md).

-- +goose Up
-- Only the SHA-256 of a reset token is stored. used_at is set when the token
-- is used, or when a newer request for the same user supersedes it.
CREATE TABLE password_resets (
    hash       bytea       PRIMARY KEY CHECK (octet_length(hash) = 32),
    user_id    uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX password_resets_user_idx ON password_resets (user_id) WHERE used_at IS NULL;
CREATE INDEX password_resets_expires_idx ON password_resets (expires_at);

-- A device token marks a device a user has logged in from: a login that
-- presents one of the user's is not subject to the account-wide throttle.
-- It grants nothing else. Only its SHA-256 is stored.
CREATE TABLE device_tokens (
    hash       bytea       PRIMARY KEY CHECK (octet_length(hash) = 32),
    user_id    uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE INDEX device_tokens_user_idx ON device_tokens (user_id);
CREATE INDEX device_tokens_expires_idx ON device_tokens (expires_at);

-- One row per throttle counter: a login name and client address pair, a
-- client address, a login name, an e-mail address. key is the SHA-256 of the
-- counter's rule and subject, so no typed name (which may be a mistyped
-- password) is stored; subject is the SHA-256 of the login name a counter is
-- about, so a password reset can clear the user's counters. The rule's
-- parameters travel with each hit, so a counter applies the configuration of
-- the moment. Unlogged: a crash forgets the counters, and writes skip the WAL.
CREATE UNLOGGED TABLE throttle_counters (
    key           bytea       PRIMARY KEY CHECK (octet_length(key) = 32),
    subject       bytea,
    hits          integer     NOT NULL,
    started_at    timestamptz NOT NULL,
    blocked_until timestamptz,
    expires_at    timestamptz NOT NULL,
    max_hits      integer     NOT NULL,
    period        interval    NOT NULL,
    delay         interval    NOT NULL,
    max_delay     interval    NOT NULL
);
-- throttle_block is when a counter at @hits hits, counted at @at, stops
-- being blocked: NULL below max_hits, else delay doubled at every hit past
-- max_hits, at most max_delay.
-- +goose StatementBegin
CREATE FUNCTION throttle_block(hits integer, max_hits integer, at timestamptz, delay interval, max_delay interval)
RETURNS timestamptz LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
RETURN CASE WHEN hits >= max_hits THEN at + least(max_delay, delay * power(2, least(hits - max_hits, 30))) END;
-- +goose StatementEnd
CREATE INDEX throttle_counters_subject_idx ON throttle_counters (subject) WHERE subject IS NOT NULL;
CREATE INDEX throttle_counters_expires_idx ON throttle_counters (expires_at);

-- When a self-registered account still unverified is deleted, freeing its
-- username and address (UNVERIFIED_ACCOUNT_TTL). NULL: never (verified, or
-- not self-registered, such as imported users and existing rows).
ALTER TABLE users ADD COLUMN unverified_expires_at timestamptz;
CREATE INDEX users_unverified_expires_idx ON users (unverified_expires_at) WHERE unverified_expires_at IS NOT NULL;

-- +goose Down
DROP INDEX users_unverified_expires_idx;
ALTER TABLE users DROP COLUMN unverified_expires_at;
DROP TABLE throttle_counters;
DROP FUNCTION throttle_block;
DROP TABLE device_tokens;
DROP TABLE password_resets;
