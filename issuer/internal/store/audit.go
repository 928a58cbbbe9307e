package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/medinsights/auth/issuer/internal/store/dbsqlc"
)

// AuditEntry is an audit row to write. Seq and hash are the database's
// (the trigger audit_log_chain sets them). Detail is a JSON object, already
// bounded by the caller; nil: {}.
type AuditEntry struct {
	At        time.Time
	Event     string
	ActorID   uuid.UUID // uuid.Nil: none
	SubjectID uuid.UUID
	SessionID uuid.UUID
	Client    Client
	Detail    []byte
}

// AuditRecord is an audit row as stored. Detail is the text PostgreSQL
// prints for the jsonb value: the form the row's hash covers.
type AuditRecord struct {
	Seq       int64
	At        time.Time
	Event     string
	ActorID   uuid.UUID
	SubjectID uuid.UUID
	SessionID uuid.UUID
	Client    Client
	Detail    string
	Hash      []byte
}

// AuditChain is the head of the chain and the checkpoint of the last
// prune: rows up to PrunedThrough are gone, and the row PrunedThrough had
// hash PrunedHash.
type AuditChain struct {
	LastSeq       int64
	LastHash      []byte
	PrunedThrough int64
	PrunedHash    []byte
}

// AuditFilter selects rows of the audit log for reading.
type AuditFilter struct {
	UserID uuid.UUID // rows by or about this user; uuid.Nil: all
	Event  string    // "": all
}

// AuditLogAppend writes one audit row. Inside a transaction that revokes
// sessions, call it after SessionRevoke: the audit chain is locked last.
func (q *Q) AuditLogAppend(ctx context.Context, e AuditEntry) error {
	detail := e.Detail
	if detail == nil {
		detail = []byte("{}")
	}
	return interpretError(q.q.AuditLogAppend(ctx, q.db, dbsqlc.AuditLogAppendParams{
		At: e.At, Event: e.Event, ActorID: nullUUID(e.ActorID), SubjectID: nullUUID(e.SubjectID), SessionID: nullUUID(e.SessionID),
		ClientAddr: e.Client.Addr, UserAgent: e.Client.UserAgent, Detail: detail,
	}))
}

// AuditLogAfter returns up to max rows after seq after written at or after
// since, oldest first.
func (q *Q) AuditLogAfter(ctx context.Context, after int64, since time.Time, max int32) ([]AuditRecord, error) {
	rows, err := q.q.AuditLogAfter(ctx, q.db, dbsqlc.AuditLogAfterParams{After: after, Since: since, MaxRows: max})
	if err != nil {
		return nil, interpretError(err)
	}
	out := make([]AuditRecord, len(rows))
	for i, r := range rows {
		out[i] = toAuditRecord(dbsqlc.AuditLogBeforeRow(r))
	}
	return out, nil
}

// AuditLogBefore returns up to max rows before seq before that f selects,
// newest first.
func (q *Q) AuditLogBefore(ctx context.Context, before int64, f AuditFilter, max int32) ([]AuditRecord, error) {
	p := dbsqlc.AuditLogBeforeParams{Before: before, UserID: nullUUID(f.UserID), MaxRows: max}
	p.Event.String, p.Event.Valid = f.Event, f.Event != ""
	rows, err := q.q.AuditLogBefore(ctx, q.db, p)
	if err != nil {
		return nil, interpretError(err)
	}
	out := make([]AuditRecord, len(rows))
	for i, r := range rows {
		out[i] = toAuditRecord(r)
	}
	return out, nil
}

func toAuditRecord(r dbsqlc.AuditLogBeforeRow) AuditRecord {
	return AuditRecord{
		Seq: r.Seq, At: r.At, Event: r.Event, ActorID: r.ActorID.UUID, SubjectID: r.SubjectID.UUID, SessionID: r.SessionID.UUID,
		Client: Client{Addr: r.ClientAddr, UserAgent: r.UserAgent}, Detail: r.Detail, Hash: r.Hash,
	}
}

// AuditChainHead returns the chain's head and prune checkpoint.
func (q *Q) AuditChainHead(ctx context.Context) (AuditChain, error) {
	h, err := q.q.AuditChainHead(ctx, q.db)
	return AuditChain(h), interpretError(err)
}

// AuditLogPrune deletes the longest run of rows, from the oldest on,
// written before before, after recording the hash of the last one as the
// checkpoint the rows left are verified from; all in one transaction. It
// returns how many rows it deleted.
func (s *Store) AuditLogPrune(ctx context.Context, before time.Time) (int64, error) {
	var n int64
	err := s.Tx(ctx, func(q *Q) error {
		n = 0
		if err := q.q.AuditPruneAllow(ctx, q.db); err != nil {
			return fmt.Errorf("allow prune: %w", err)
		}
		through, err := q.q.AuditChainCheckpoint(ctx, q.db, before)
		if err != nil {
			return interpretError(err)
		}
		n, err = q.q.AuditLogPrune(ctx, q.db, through)
		return err
	})
	if errors.Is(err, ErrNotFound) {
		return 0, nil // nothing new to prune
	}
	return n, err
}

// UserSummary is a user as administrators see it.
type UserSummary struct {
	User         User
	LiveSessions int64
	LastLoginAt  *time.Time
}

// UserOverview returns a user with its live session count at now and its
// latest loginEvent audit row's time, or ErrNotFound.
func (q *Q) UserOverview(ctx context.Context, id uuid.UUID, now time.Time, loginEvent string) (UserSummary, error) {
	row, err := q.q.UserOverview(ctx, q.db, dbsqlc.UserOverviewParams{ID: id, Now: now, LoginEvent: loginEvent})
	if err != nil {
		return UserSummary{}, interpretError(err)
	}
	sum := UserSummary{User: toUser(row.User), LiveSessions: row.LiveSessions}
	if t, ok := row.LastLoginAt.(time.Time); ok {
		sum.LastLoginAt = &t
	}
	return sum, nil
}

// UserSearch returns up to max users whose username or e-mail address
// starts with prefix (any case; "" for all), ordered by lower-cased
// username, after the username after.
func (q *Q) UserSearch(ctx context.Context, prefix, after string, max int32) ([]User, error) {
	pattern := ""
	if prefix != "" {
		pattern = likeEscaper.Replace(strings.ToLower(prefix)) + "%"
	}
	rows, err := q.q.UserSearch(ctx, q.db, dbsqlc.UserSearchParams{Pattern: pattern, After: strings.ToLower(after), MaxRows: max})
	if err != nil {
		return nil, interpretError(err)
	}
	out := make([]User, len(rows))
	for i, r := range rows {
		out[i] = toUser(r)
	}
	return out, nil
}

// likeEscaper makes text match itself in a LIKE pattern (escape '\').
var likeEscaper = strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)

// UserGetByIDForUpdate returns a user, locked until the transaction ends,
// or ErrNotFound.
func (q *Q) UserGetByIDForUpdate(ctx context.Context, id uuid.UUID) (User, error) {
	return userResult(q.q.UserGetByIDForUpdate(ctx, q.db, id))
}

// UserSetRoles replaces a user's roles.
func (q *Q) UserSetRoles(ctx context.Context, id uuid.UUID, roles []string, now time.Time) (User, error) {
	return userResult(q.q.UserSetRoles(ctx, q.db, dbsqlc.UserSetRolesParams{ID: id, Roles: roles, Now: now}))
}
