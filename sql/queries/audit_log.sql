-- AuditLogAppend writes one audit row; the trigger audit_log_chain numbers
-- and hashes it under audit_chain's lock, held until the transaction ends.
-- In a transaction that also revokes sessions, run it after SessionRevoke:
-- revocation_feed is always locked before audit_chain.
-- name: AuditLogAppend :exec
INSERT INTO audit_log (at, event, actor_id, subject_id, session_id, client_addr, user_agent, detail)
VALUES (@at, @event, sqlc.narg('actor_id'), sqlc.narg('subject_id'), sqlc.narg('session_id'),
        @client_addr, @user_agent, @detail);

-- AuditLogAfter lists up to @max_rows rows after seq @after written at or
-- after @since, oldest first: the chain walk of `issuer audit verify`
-- (@since far in the past) and `issuer audit export`.
-- name: AuditLogAfter :many
SELECT seq, at, event, actor_id, subject_id, session_id, client_addr, user_agent, detail::text AS detail, hash
FROM audit_log
WHERE seq > @after AND at >= @since
ORDER BY seq
LIMIT @max_rows;

-- AuditLogBefore lists up to @max_rows rows before seq @before, newest
-- first, optionally only those by or about one user and of one event.
-- name: AuditLogBefore :many
SELECT seq, at, event, actor_id, subject_id, session_id, client_addr, user_agent, detail::text AS detail, hash
FROM audit_log
WHERE seq < @before
  AND (sqlc.narg('user_id')::uuid IS NULL OR subject_id = sqlc.narg('user_id')::uuid OR actor_id = sqlc.narg('user_id')::uuid)
  AND (sqlc.narg('event')::text IS NULL OR event = sqlc.narg('event')::text)
ORDER BY seq DESC
LIMIT @max_rows;

-- AuditChainHead returns the chain's last row and the prune checkpoint.
-- name: AuditChainHead :one
SELECT last_seq, last_hash, pruned_through, pruned_hash FROM audit_chain;

-- AuditPruneAllow lets this transaction delete rows at or below the
-- checkpoint (see audit_log_guard).
-- name: AuditPruneAllow :exec
SELECT set_config('medinsights.audit_prune', 'on', true);

-- AuditChainCheckpoint moves the prune checkpoint to the last row of the
-- longest run of rows, from the oldest on, written before @before, and
-- keeps that row's hash, from which the rows left are verified. No row when
-- there is nothing new to prune.
-- name: AuditChainCheckpoint :one
WITH through AS (
    SELECT coalesce((SELECT min(audit_log.seq) FROM audit_log WHERE audit_log.at >= @before), c.last_seq + 1) - 1 AS seq
    FROM audit_chain c
)
UPDATE audit_chain
SET pruned_through = audit_log.seq, pruned_hash = audit_log.hash
FROM through JOIN audit_log ON audit_log.seq = through.seq
WHERE audit_log.seq > audit_chain.pruned_through
RETURNING audit_chain.pruned_through;

-- AuditLogPrune deletes the rows at or below the checkpoint; only after
-- AuditPruneAllow and AuditChainCheckpoint, in their transaction.
-- name: AuditLogPrune :execrows
DELETE FROM audit_log WHERE seq <= @through;
