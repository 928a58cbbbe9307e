-- The issuer's schema: users, their sessions and refresh tokens, e-mail
-- verification tokens, and the revocation feed that tells gateways which
-- sessions ended before their access tokens expire.

-- +goose Up
CREATE TABLE users (
    id             uuid        PRIMARY KEY,
    username       text        NOT NULL,
    email          text        NOT NULL,
    -- argon2id as a PHC string, so its parameters travel with it.
    password_hash  text        NOT NULL,
    first_name     text        NOT NULL DEFAULT '',
    last_name      text        NOT NULL DEFAULT '',
    email_verified boolean     NOT NULL DEFAULT false,
    roles          text[]      NOT NULL DEFAULT '{}',
    date_joined    timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL
);
-- Usernames and e-mail addresses are unique case-insensitively.
CREATE UNIQUE INDEX users_username_key ON users (lower(username));
CREATE UNIQUE INDEX users_email_key ON users (lower(email));

-- A session is one login: the refresh tokens rotated from it and every access
-- token signed for it (claim sid). Revoking it ends all of them.
CREATE TABLE sessions (
    id            uuid        PRIMARY KEY,
    user_id       uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at    timestamptz NOT NULL,
    -- When its newest refresh token expires; extended by every rotation.
    expires_at    timestamptz NOT NULL,
    revoked_at    timestamptz,
    revoke_reason text,
    CHECK ((revoked_at IS NULL) = (revoke_reason IS NULL))
);
CREATE INDEX sessions_user_live_idx ON sessions (user_id) WHERE revoked_at IS NULL;

-- Only the SHA-256 of a refresh token is stored.
CREATE TABLE refresh_tokens (
    hash       bytea       PRIMARY KEY CHECK (octet_length(hash) = 32),
    session_id uuid        NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    issued_at  timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    -- Set when the token is rotated; presenting it again later than
    -- REFRESH_REUSE_INTERVAL after this is reuse.
    retired_at timestamptz
);
CREATE INDEX refresh_tokens_session_idx ON refresh_tokens (session_id);

-- Only the SHA-256 of a verification token is stored. used_at is set when the
-- token is used, or when a newer one voids it.
CREATE TABLE email_verifications (
    hash       bytea       PRIMARY KEY CHECK (octet_length(hash) = 32),
    user_id    uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX email_verifications_user_idx ON email_verifications (user_id) WHERE used_at IS NULL;

-- One event per revoked session, written in the transaction that revokes it.
-- seq comes from revocation_feed.last_seq, advanced under that row's lock at
-- the end of the transaction, so events become visible in seq order and a
-- reader that has seen seq N never later finds a committed event below N.
-- expires_at is when no access token of the session can still be alive
-- (revocation time + access token lifetime + clock skew); the event is
-- pruned after it.
CREATE TABLE revocation_events (
    seq        bigint      PRIMARY KEY,
    session_id uuid        NOT NULL,
    user_id    uuid        NOT NULL,
    reason     text        NOT NULL,
    revoked_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE INDEX revocation_events_expires_idx ON revocation_events (expires_at);

-- A single row: the last sequence number handed out, and the highest one
-- pruned (a cursor at or below it needs a snapshot).
CREATE TABLE revocation_feed (
    id             boolean PRIMARY KEY DEFAULT true CHECK (id),
    last_seq       bigint  NOT NULL DEFAULT 0,
    pruned_through bigint  NOT NULL DEFAULT 0
);
INSERT INTO revocation_feed (id) VALUES (true);

-- +goose Down
DROP TABLE revocation_feed;
DROP TABLE revocation_events;
DROP TABLE email_verifications;
DROP TABLE refresh_tokens;
DROP TABLE sessions;
DROP TABLE users;
