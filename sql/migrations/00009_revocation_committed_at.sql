-- When each revocation event's transaction committed, as near as the
-- database can say from inside it: clock_timestamp() read while the event
-- row is inserted, which the revoking statements do last (after the feed row
-- lock, right before COMMIT), so it precedes the commit by the statement's
-- tail only. The feed serves it as committed_at_us, and gateways measure
-- propagation lag from it. pg_xact_commit_timestamp would be exact, but
-- needs track_commit_timestamp=on, a server setting the issuer cannot rely
-- on. Rows from before this column get their revoked_at.

-- +goose Up
ALTER TABLE revocation_events ADD COLUMN committed_at timestamptz;
UPDATE revocation_events SET committed_at = revoked_at;
ALTER TABLE revocation_events
    ALTER COLUMN committed_at SET DEFAULT clock_timestamp(),
    ALTER COLUMN committed_at SET NOT NULL;

-- +goose Down
ALTER TABLE revocation_events DROP COLUMN committed_at;
