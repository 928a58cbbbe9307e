package command

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"

	"github.com/medinsights/auth/issuer/internal/auth"
	"github.com/medinsights/auth/issuer/internal/store"
)

// usersList prints users by username, a page of at most --limit.
func usersList(ctx context.Context, env Env, args []string) error {
	fs := flag.NewFlagSet("users list", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	prefix := fs.String("q", "", "username or e-mail prefix")
	limit := fs.Int("limit", auth.MaxPageSize, "most users listed")
	after := fs.String("after", "", "list the users after this username")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 || *limit < 1 || *limit > auth.MaxPageSize {
		return usageError{fmt.Sprintf("users list takes [--q PREFIX] [--after USERNAME] [--limit 1..%d]", auth.MaxPageSize)}
	}
	return withService(ctx, env, func(svc *auth.Service) error {
		users, err := svc.ListUsers(ctx, uuid.Nil, *prefix, *after, *limit)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tUSERNAME\tEMAIL\tROLES\tSTATUS")
		for _, u := range users {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", u.ID, u.Username, u.Email, strings.Join(u.Roles, ","), status(u))
		}
		return tw.Flush()
	})
}

// usersChange shows, disables or enables the user id, as an operator at
// the command line (the audit rows have no actor).
func usersChange(ctx context.Context, env Env, action, rawID string) error {
	id, err := uuid.Parse(rawID)
	if err != nil {
		return usageError{fmt.Sprintf("users %s takes a user id (a UUID, see users list)", action)}
	}
	return withService(ctx, env, func(svc *auth.Service) error {
		switch action {
		case "disable":
			_, err = svc.DisableUser(ctx, uuid.Nil, id)
		case "enable":
			_, err = svc.EnableUser(ctx, uuid.Nil, id)
		}
		if err != nil {
			return err
		}
		sum, err := svc.UserOverview(ctx, uuid.Nil, id)
		if err != nil {
			return err
		}
		u, last := sum.User, "never"
		if sum.LastLoginAt != nil {
			last = sum.LastLoginAt.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(env.Stdout, "id: %s\nusername: %s\nemail: %s (verified: %t)\nroles: %s\nstatus: %s\njoined: %s\nlast login: %s\nlive sessions: %d\n",
			u.ID, u.Username, u.Email, u.EmailVerified, strings.Join(u.Roles, ","), status(u),
			u.DateJoined.UTC().Format(time.RFC3339), last, sum.LiveSessions)
		return nil
	})
}

func status(u store.User) string {
	if u.DisabledAt != nil {
		return "disabled"
	}
	return "active"
}

// auditVerify exits 0 when the chain verifies, 1 naming the first bad row
// or gap.
func auditVerify(ctx context.Context, env Env) error {
	return withService(ctx, env, func(svc *auth.Service) error {
		rep, err := svc.VerifyAudit(ctx)
		var tamper *auth.AuditTamperError
		if errors.As(err, &tamper) {
			return fmt.Errorf("audit log does not verify: %w", err)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "audit log verifies: %d rows (%d..%d), pruned through %d\n",
			rep.Rows, rep.PrunedThrough+1, rep.LastSeq, rep.PrunedThrough)
		return nil
	})
}

// auditRecord is one JSON line of `issuer audit export`.
type auditRecord struct {
	Seq        int64           `json:"seq"`
	At         string          `json:"at"`
	Event      string          `json:"event"`
	ActorID    string          `json:"actor_id,omitempty"`
	SubjectID  string          `json:"subject_id,omitempty"`
	SessionID  string          `json:"session_id,omitempty"`
	ClientAddr string          `json:"client_addr,omitempty"`
	UserAgent  string          `json:"user_agent,omitempty"`
	Detail     json.RawMessage `json:"detail"`
	Hash       string          `json:"hash"`
}

// auditExport writes the audit rows at or after --since as JSON Lines.
func auditExport(ctx context.Context, env Env, args []string) error {
	fs := flag.NewFlagSet("audit export", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	sinceText := fs.String("since", "", "RFC 3339 time")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return usageError{"audit export takes [--since TIME]"}
	}
	var since time.Time
	if *sinceText != "" {
		var err error
		if since, err = time.Parse(time.RFC3339, *sinceText); err != nil {
			return usageError{fmt.Sprintf("--since %q is not an RFC 3339 time such as 2026-01-02T15:04:05Z", *sinceText)}
		}
	}
	return withService(ctx, env, func(svc *auth.Service) error {
		enc := json.NewEncoder(env.Stdout)
		return svc.ExportAudit(ctx, since, func(r store.AuditRecord) error {
			return enc.Encode(auditRecord{
				Seq: r.Seq, At: r.At.UTC().Format(time.RFC3339Nano), Event: r.Event,
				ActorID: idString(r.ActorID), SubjectID: idString(r.SubjectID), SessionID: idString(r.SessionID),
				ClientAddr: r.Client.Addr, UserAgent: r.Client.UserAgent, Detail: json.RawMessage(r.Detail), Hash: hex.EncodeToString(r.Hash),
			})
		})
	})
}

func idString(id uuid.UUID) string {
	if id == uuid.Nil {
		return ""
	}
	return id.String()
}
