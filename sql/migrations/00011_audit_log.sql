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
--     revocation events); audit_chain_advance stores the new head. A transaction that also revokes sessions locks
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

-- audit_log_encode is the canonical encoding of a row: for each field, its
-- UTF-8 length as 4 bytes big-endian, then its UTF-8 bytes. The fields, in
-- order: seq in decimal, at as YYYY-MM-DDTHH:MM:SS.ffffffZ (UTC), event,
-- the three ids in their hyphenated lower-case form or '' when NULL,
-- client_addr, user_agent and detail as PostgreSQL prints jsonb. (PL/pgSQL:
-- called once per inserted row, it costs a fifth of a SQL function.)
-- +goose StatementBegin
CREATE FUNCTION audit_log_encode(r audit_log) RETURNS bytea LANGUAGE plpgsql STABLE AS $$
DECLARE
    field text;
    bytes bytea;
    encoded bytea := '';
BEGIN
    FOREACH field IN ARRAY ARRAY[
        r.seq::text, to_char(r.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), r.event,
        coalesce(r.actor_id::text, ''), coalesce(r.subject_id::text, ''), coalesce(r.session_id::text, ''),
        r.client_addr, r.user_agent, r.detail::text
    ] LOOP
        bytes := convert_to(field, 'UTF8');
        encoded := encoded || int4send(octet_length(bytes)) || bytes;
    END LOOP;
    RETURN encoded;
END
$$;
-- +goose StatementEnd

-- audit_log_chain numbers and hashes each row. The first row of a
-- transaction reads the head from audit_chain, locking it until the
-- transaction ends; the head then travels in the transaction-local setting
-- medinsights.audit_head ("txid:seq:hash"), so rows after it neither re-read
-- nor rewrite audit_chain (rewriting one row once per inserted row makes a
-- statement of n rows cost n squared); audit_chain_advance stores the head
-- once per statement.
-- +goose StatementBegin
CREATE FUNCTION audit_log_chain() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    head text[] := string_to_array(current_setting('medinsights.audit_head', true), ':');
    prev bytea;
BEGIN
    IF head[1] IS NOT DISTINCT FROM txid_current()::text THEN
        NEW.seq := head[2]::bigint + 1;
        prev := decode(head[3], 'hex');
    ELSE
        SELECT c.last_seq + 1, c.last_hash INTO NEW.seq, prev FROM audit_chain c FOR UPDATE;
    END IF;
    NEW.hash := sha256(prev || audit_log_encode(NEW));
    PERFORM set_config('medinsights.audit_head', txid_current() || ':' || NEW.seq || ':' || encode(NEW.hash, 'hex'), true);
    RETURN NEW;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER audit_log_chain BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION audit_log_chain();

-- +goose StatementBegin
CREATE FUNCTION audit_chain_advance() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    head text[] := string_to_array(current_setting('medinsights.audit_head', true), ':');
BEGIN
    IF head[1] IS NOT DISTINCT FROM txid_current()::text THEN
        UPDATE audit_chain SET last_seq = head[2]::bigint, last_hash = decode(head[3], 'hex')
        WHERE last_seq <> head[2]::bigint;
    END IF;
    RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER audit_chain_advance AFTER INSERT ON audit_log FOR EACH STATEMENT EXECUTE FUNCTION audit_chain_advance();

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
DROP FUNCTION audit_chain_advance();
DROP FUNCTION audit_log_chain();
DROP TABLE audit_chain;
DROP INDEX users_email_prefix_idx;
DROP INDEX users_username_prefix_idx;
ALTER TABLE sessions DROP COLUMN user_agent, DROP COLUMN client_addr, DROP COLUMN last_used_at;
