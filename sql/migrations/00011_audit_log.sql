-- Sessions a user can list (GET /api/auth/sessions/): when each was last
-- used, and from where, as of its login or its last refresh (recorded by
-- the statements that already run then).
--
-- The audit trail: one row per security event, written in the transaction
-- of the change it records. It is append-only and tamper-evident:
--
--   * seq and hash are set by the trigger audit_log_chain from the single
--     row of audit_chain, locked until the transaction ends, so rows are
--     numbered in commit order without gaps (as revocation_feed numbers the
--     revocation events). A transaction that also revokes sessions locks
--     revocation_feed first and audit_chain last, always in that order.
--   * hash = SHA-256(previous row's hash || audit_log_encode(row)), the
--     first row's previous hash being 32 zero bytes. `issuer audit verify`
--     recomputes the chain in Go, independently of these functions.
--   * audit_log_guard refuses UPDATE, TRUNCATE and DELETE, except DELETE of
--     rows at or below audit_chain.pruned_through by a transaction that set
--     medinsights.audit_prune (the retention prune, which first records the
--     hash of the last row it prunes in audit_chain.pruned_hash, so the rows
--     left still verify).

-- +goose Up
ALTER TABLE sessions
    ADD COLUMN last_used_at timestamptz,
    ADD COLUMN client_addr text NOT NULL DEFAULT '',
    ADD COLUMN user_agent text NOT NULL DEFAULT '';

-- Prefix search of users by the administrators (LIKE 'prefix%').
CREATE INDEX users_username_prefix_idx ON users (lower(username) text_pattern_ops);
CREATE INDEX users_email_prefix_idx ON users (lower(email) text_pattern_ops);

CREATE TABLE audit_log (
    seq         bigint      PRIMARY KEY,
    at          timestamptz NOT NULL,
    event       text        NOT NULL,
    -- Who acted (the user, or an administrator); NULL when unknown (a login
    -- with an unknown name).
    actor_id    uuid,
    -- Whom it concerns. No foreign keys: the trail outlives deleted users.
    subject_id  uuid,
    session_id  uuid,
    client_addr text        NOT NULL DEFAULT '',
    user_agent  text        NOT NULL DEFAULT '',
    detail      jsonb       NOT NULL DEFAULT '{}' CHECK (octet_length(detail::text) <= 2048),
    hash        bytea       NOT NULL CHECK (octet_length(hash) = 32)
);
CREATE INDEX audit_log_subject_idx ON audit_log (subject_id, seq);
CREATE INDEX audit_log_actor_idx ON audit_log (actor_id, seq);
CREATE INDEX audit_log_event_idx ON audit_log (event, seq);
CREATE INDEX audit_log_at_idx ON audit_log (at);

-- A single row: the chain's head, and the checkpoint of the last prune.
CREATE TABLE audit_chain (
    id             boolean PRIMARY KEY DEFAULT true CHECK (id),
    last_seq       bigint  NOT NULL DEFAULT 0,
    last_hash      bytea   NOT NULL DEFAULT decode(repeat('00', 32), 'hex'),
    pruned_through bigint  NOT NULL DEFAULT 0,
    pruned_hash    bytea   NOT NULL DEFAULT decode(repeat('00', 32), 'hex')
);
INSERT INTO audit_chain (id) VALUES (true);

-- audit_log_field is one field of the canonical encoding: its UTF-8 length
-- as 4 bytes big-endian, then its UTF-8 bytes.
CREATE FUNCTION audit_log_field(f text) RETURNS bytea LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT int4send(octet_length(convert_to(f, 'UTF8'))) || convert_to(f, 'UTF8')
$$;

-- audit_log_encode is the canonical encoding of a row: seq in decimal, at
-- as YYYY-MM-DDTHH:MM:SS.ffffffZ (UTC), event, the three ids in their
-- hyphenated lower-case form or '' when NULL, client_addr, user_agent and
-- detail as PostgreSQL prints jsonb, each an audit_log_field.
CREATE FUNCTION audit_log_encode(r audit_log) RETURNS bytea LANGUAGE sql STABLE AS $$
    SELECT audit_log_field(r.seq::text)
        || audit_log_field(to_char(r.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))
        || audit_log_field(r.event)
        || audit_log_field(coalesce(r.actor_id::text, ''))
        || audit_log_field(coalesce(r.subject_id::text, ''))
        || audit_log_field(coalesce(r.session_id::text, ''))
        || audit_log_field(r.client_addr)
        || audit_log_field(r.user_agent)
        || audit_log_field(r.detail::text)
$$;

-- +goose StatementBegin
CREATE FUNCTION audit_log_chain() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    prev bytea;
BEGIN
    SELECT c.last_seq + 1, c.last_hash INTO NEW.seq, prev FROM audit_chain c FOR UPDATE;
    NEW.hash := sha256(prev || audit_log_encode(NEW));
    UPDATE audit_chain SET last_seq = NEW.seq, last_hash = NEW.hash;
    RETURN NEW;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER audit_log_chain BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_log_chain();

-- +goose StatementBegin
CREATE FUNCTION audit_log_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF current_setting('medinsights.audit_prune', true) = 'on'
           AND OLD.seq <= (SELECT pruned_through FROM audit_chain) THEN
            RETURN OLD;
        END IF;
    END IF;
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$;
-- +goose StatementEnd
CREATE TRIGGER audit_log_guard BEFORE UPDATE OR DELETE ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_log_guard();
CREATE TRIGGER audit_log_guard_truncate BEFORE TRUNCATE ON audit_log FOR EACH STATEMENT EXECUTE FUNCTION audit_log_guard();

-- +goose Down
DROP FUNCTION audit_log_encode(audit_log);
DROP TABLE audit_log;
DROP FUNCTION audit_log_guard();
DROP FUNCTION audit_log_chain();
DROP FUNCTION audit_log_field(text);
DROP TABLE audit_chain;
DROP INDEX users_email_prefix_idx;
DROP INDEX users_username_prefix_idx;
ALTER TABLE sessions DROP COLUMN user_agent, DROP COLUMN client_addr, DROP COLUMN last_used_at;
