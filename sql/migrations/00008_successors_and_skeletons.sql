-- Two hardenings from the security review.
--
-- 1. A refresh token presented again within REFRESH_REUSE_INTERVAL gets the
-- same successor as the first time, not a second chain in the session:
-- every successor is HMAC-SHA256(sessions.refresh_key, seed), where the seed
-- is a hash of the presented token that is never stored (see
-- auth.successorSeed). The key is 32 random bytes per session. The store
-- still holds only SHA-256 hashes of tokens, so a copy of the database
-- yields no token: the seed cannot be had from a stored hash. Existing
-- sessions get a key from two random UUIDs (244 random bits).
--
-- 2. login_names.skeleton is the Unicode TS #39 confusable skeleton of the
-- name (case-folded first): two names that look alike have the same
-- skeleton, and the unique index makes the second one taken. It is computed
-- in Go (store.skeleton) and filled in for existing names by `issuer
-- migrate up` right after this migration; a name whose skeleton another
-- name already has keeps NULL (both go on working; no new look-alike of
-- either can register).

-- +goose Up
ALTER TABLE sessions ADD COLUMN refresh_key bytea CHECK (octet_length(refresh_key) = 32);
UPDATE sessions SET refresh_key = decode(replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''), 'hex');
ALTER TABLE sessions ALTER COLUMN refresh_key SET NOT NULL;

-- hmac_sha256 is HMAC-SHA256 (RFC 2104) for keys of at most 64 bytes.
-- +goose StatementBegin
CREATE FUNCTION hmac_sha256(key bytea, message bytea) RETURNS bytea
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    inner_pad bytea := decode(repeat('36', 64), 'hex');
    outer_pad bytea := decode(repeat('5c', 64), 'hex');
BEGIN
    IF length(key) > 64 THEN
        RAISE EXCEPTION 'hmac_sha256: key longer than 64 bytes';
    END IF;
    FOR i IN 0 .. length(key) - 1 LOOP
        inner_pad := set_byte(inner_pad, i, get_byte(inner_pad, i) # get_byte(key, i));
        outer_pad := set_byte(outer_pad, i, get_byte(outer_pad, i) # get_byte(key, i));
    END LOOP;
    RETURN sha256(outer_pad || sha256(inner_pad || message));
END
$$;
-- +goose StatementEnd

-- refresh_token_hash is what the store keeps of the token whose 32 bytes
-- are raw: the SHA-256 of its text, unpadded base64url (auth.hashToken).
-- +goose StatementBegin
CREATE FUNCTION refresh_token_hash(raw bytea) RETURNS bytea
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT sha256(convert_to(translate(encode(raw, 'base64'), E'+/=\n', '-_'), 'UTF8'))
$$;
-- +goose StatementEnd

ALTER TABLE login_names ADD COLUMN skeleton text;
CREATE UNIQUE INDEX login_names_skeleton_key ON login_names (skeleton);

-- +goose Down
DROP INDEX login_names_skeleton_key;
ALTER TABLE login_names DROP COLUMN skeleton;
DROP FUNCTION refresh_token_hash(bytea);
DROP FUNCTION hmac_sha256(bytea, bytea);
ALTER TABLE sessions DROP COLUMN refresh_key;
