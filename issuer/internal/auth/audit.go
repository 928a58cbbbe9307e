package auth

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/medinsights/auth/issuer/internal/store"
)

// auditPage is how many rows one read of the chain walk fetches.
const auditPage = 1000

// AuditTamperError names where the audit chain breaks: the first row whose
// hash does not match its content and its predecessor, or the first
// sequence number missing.
type AuditTamperError struct {
	Seq     int64
	Problem string
}

func (e *AuditTamperError) Error() string {
	return fmt.Sprintf("audit log row %d: %s", e.Seq, e.Problem)
}

// AuditReport is what a verification walked.
type AuditReport struct {
	Rows          int64
	PrunedThrough int64 // rows up to here were pruned; the walk starts after
	LastSeq       int64
}

// VerifyAudit walks the audit chain from the prune checkpoint to the head
// read at its start, recomputing every row's hash in Go from its content
// and its predecessor's hash (the database's own functions are not trusted
// here). It returns an *AuditTamperError for the first row that does not
// match, the first gap in seq, or rows missing at the end. An empty log
// verifies.
func (s *Service) VerifyAudit(ctx context.Context) (AuditReport, error) {
	head, err := s.opt.Store.AuditChainHead(ctx)
	if err != nil {
		return AuditReport{}, fmt.Errorf("read audit chain head: %w", err)
	}
	rep := AuditReport{PrunedThrough: head.PrunedThrough, LastSeq: head.LastSeq}
	prev, next := head.PrunedHash, head.PrunedThrough+1
	err = s.walkAudit(ctx, head.PrunedThrough, time.Time{}, head.LastSeq, func(r store.AuditRecord) error {
		if r.Seq != next {
			return &AuditTamperError{Seq: next, Problem: fmt.Sprintf("missing: the chain goes on at row %d", r.Seq)}
		}
		if want := AuditRowHash(prev, r); !bytes.Equal(want, r.Hash) {
			return &AuditTamperError{Seq: r.Seq, Problem: "hash does not match the row's content and its predecessor"}
		}
		prev, next = r.Hash, next+1
		rep.Rows++
		return nil
	})
	if err != nil {
		return rep, err
	}
	if next <= head.LastSeq {
		return rep, &AuditTamperError{Seq: next, Problem: fmt.Sprintf("missing: the chain's head is row %d", head.LastSeq)}
	}
	if !bytes.Equal(prev, head.LastHash) {
		return rep, &AuditTamperError{Seq: head.LastSeq, Problem: "hash differs from the chain head's"}
	}
	return rep, nil
}

// ExportAudit calls fn with every audit row written at or after since,
// oldest first, up to the head at its start.
func (s *Service) ExportAudit(ctx context.Context, since time.Time, fn func(store.AuditRecord) error) error {
	head, err := s.opt.Store.AuditChainHead(ctx)
	if err != nil {
		return fmt.Errorf("read audit chain head: %w", err)
	}
	return s.walkAudit(ctx, 0, since, head.LastSeq, fn)
}

// walkAudit calls fn with the rows after seq after, up to through, written
// at or after since, oldest first, a page at a time.
func (s *Service) walkAudit(ctx context.Context, after int64, since time.Time, through int64, fn func(store.AuditRecord) error) error {
	for {
		rows, err := s.opt.Store.AuditLogAfter(ctx, after, since, auditPage)
		if err != nil {
			return fmt.Errorf("read audit log: %w", err)
		}
		for _, r := range rows {
			if r.Seq > through {
				return nil
			}
			if err := fn(r); err != nil {
				return err
			}
			after = r.Seq
		}
		if len(rows) < auditPage {
			return nil
		}
	}
}

// ReadAudit returns up to limit audit rows before seq before (0: from the
// newest), newest first, that f selects, as read by the administrator
// admin, audited as EventAuditRead (the row is not among those returned).
func (s *Service) ReadAudit(ctx context.Context, admin uuid.UUID, f store.AuditFilter, before int64, limit int) ([]store.AuditRecord, error) {
	var rows []store.AuditRecord
	err := s.adminRead(ctx, admin, f.UserID, func(q *store.Q) (e Event, err error) {
		through := before
		if through <= 0 {
			through = 1<<63 - 1
		}
		if rows, err = q.AuditLogBefore(ctx, through, f, int32(limit)); err != nil {
			return e, fmt.Errorf("read audit log: %w", err)
		}
		d := map[string]any{"rows": len(rows)}
		if f.Event != "" {
			d["event"] = f.Event
		}
		if before > 0 {
			d["before"] = before
		}
		return Event{Name: EventAuditRead, Detail: d}, nil
	})
	return rows, err
}

// AuditRowHash is SHA-256(prev || the row's canonical encoding): each
// field as its UTF-8 length (4 bytes, big-endian) then its bytes, in this
// order: seq in decimal, at as 2006-01-02T15:04:05.000000Z (UTC), event,
// actor, subject and session ids (lower-case, hyphenated; "" when none),
// client address, user agent, and detail as PostgreSQL prints the jsonb
// value. It is the Go twin of the migration's audit_log_encode; the tests
// hold the two to each other.
func AuditRowHash(prev []byte, r store.AuditRecord) []byte {
	h := sha256.New()
	h.Write(prev)
	var n [4]byte
	for _, f := range []string{
		strconv.FormatInt(r.Seq, 10), r.At.UTC().Format("2006-01-02T15:04:05.000000Z"), r.Event,
		idText(r.ActorID), idText(r.SubjectID), idText(r.SessionID), r.Client.Addr, r.Client.UserAgent, r.Detail,
	} {
		binary.BigEndian.PutUint32(n[:], uint32(len(f)))
		h.Write(n[:])
		h.Write([]byte(f))
	}
	return h.Sum(nil)
}

func idText(id uuid.UUID) string {
	if id == uuid.Nil {
		return ""
	}
	return id.String()
}
