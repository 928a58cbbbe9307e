-- name: RevocationEventListAfter :many
SELECT * FROM revocation_events
WHERE seq > @after
ORDER BY seq
LIMIT @max_events;

-- name: RevocationFeedGet :one
SELECT last_seq, pruned_through FROM revocation_feed;
