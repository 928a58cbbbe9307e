package auth

import (
	"context"
	"encoding/json"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/medinsights/auth/issuer/internal/store"
)

// Security events: the event column of the audit log and the event label of
// the issuer's metrics. Every one but EventRefreshRotated (routine, not
// audited) is written to the audit log in the transaction of its change.
const (
	EventRegistered             = "registered"
	EventLoginSucceeded         = "login_succeeded"
	EventLoginFailed            = "login_failed"
	EventRefreshRotated         = "refresh_rotated"
	EventRefreshReuseDetected   = "refresh_reuse_detected"
	EventLogout                 = "logout"
	EventLogoutAll              = "logout_all"
	EventSessionRevoked         = "session_revoked"
	EventPasswordChanged        = "password_changed"
	EventPasswordResetRequested = "password_reset_requested"
	EventPasswordResetCompleted = "password_reset_completed"
	EventEmailVerified          = "email_verified"
	EventRoleGranted            = "role_granted"
	EventRoleRevoked            = "role_revoked"
	EventUserDisabled           = "user_disabled"
	EventUserEnabled            = "user_enabled"
	EventUserImported           = "user_imported"
	// EventLogoutForced: an administrator ended every session of a user.
	EventLogoutForced = "logout_forced"
	// What administrators (or operators at the command line) read: the
	// user search, one user's overview, the audit log itself.
	EventUsersSearched = "users_searched"
	EventUserViewed    = "user_viewed"
	EventAuditRead     = "audit_read"
)

// EventNames lists every event, for metrics to start each at zero.
func EventNames() []string {
	return []string{
		EventRegistered, EventLoginSucceeded, EventLoginFailed, EventRefreshRotated, EventRefreshReuseDetected,
		EventLogout, EventLogoutAll, EventSessionRevoked, EventPasswordChanged, EventPasswordResetRequested,
		EventPasswordResetCompleted, EventEmailVerified, EventRoleGranted, EventRoleRevoked, EventUserDisabled,
		EventUserEnabled, EventUserImported, EventLogoutForced, EventUsersSearched, EventUserViewed, EventAuditRead,
	}
}

// Reasons a login fails, in the detail of its EventLoginFailed row and the
// reason label of its metric.
const (
	LoginFailedUnknownUser = "unknown_user"
	LoginFailedBadPassword = "bad_password"
	LoginFailedDisabled    = "disabled"
	// LoginFailedAccountChanged: the password was changed, or the user
	// disabled, between the password check and the session's creation.
	LoginFailedAccountChanged = "account_changed"
	// LoginFailedThrottled: a throttle refused the login before its
	// password was checked. Audited on the first refusal of each block;
	// every refusal is counted in the metrics.
	LoginFailedThrottled = "throttled"
)

// Event is one security event, as the audit log and metrics see it.
type Event struct {
	Name   string
	Reason string // the login failure's or the revocation's reason, or ""
	// ActorID acted (the user, or an administrator); SubjectID is whom it
	// concerns; uuid.Nil when none.
	ActorID, SubjectID, SessionID uuid.UUID
	// Detail is the audit row's detail (Reason is added to it): a small
	// JSON object, bounded by maxAuditDetail. Never a password, token or hash.
	Detail map[string]any
}

// Events observes what the service does: the one interface the issuer's
// metrics implement, and tests too (issuertest counts hashes and waits for
// reset requests through it). Observe sees each security event after its
// transaction has committed; the audit log is written inside the
// transaction instead, from the same Event (see Service.audit), so there is
// never an event without its change, nor a change without its event. The
// other methods see what is not a security event. Every method must be
// quick and must not block: it runs in the request.
type Events interface {
	Observe(ctx context.Context, e Event)
	// ThrottleDecision sees every throttle decision: a Rule* and a
	// Decision* constant.
	ThrottleDecision(rule, decision string)
	// PasswordHashed sees every password hash computation (argon2id, or a
	// Django hash's check) as it takes its hashing slot.
	PasswordHashed()
	// PasswordResetDone sees each password reset request once handled,
	// after its answer, with its outcome (a Reset* constant).
	PasswordResetDone(outcome string)
}

// NoEvents observes nothing. Embed it to implement the methods of Events
// that matter to you.
type NoEvents struct{}

func (NoEvents) Observe(context.Context, Event)  {}
func (NoEvents) ThrottleDecision(string, string) {}
func (NoEvents) PasswordHashed()                 {}
func (NoEvents) PasswordResetDone(string)        {}

// maxAuditDetail bounds an audit row's detail, in bytes of JSON; a larger
// one is replaced by {"truncated": true} (the table's CHECK is a backstop).
const maxAuditDetail = 1024

// auditDetail is e's detail as JSON: Detail with Reason added.
func auditDetail(e Event) []byte {
	d := map[string]any{}
	for k, v := range e.Detail {
		d[k] = v
	}
	if e.Reason != "" {
		d["reason"] = e.Reason
	}
	b, err := json.Marshal(d)
	if err != nil || len(b) > maxAuditDetail {
		return []byte(`{"truncated": true}`)
	}
	return b
}

// audit writes e's audit row with q, in the caller's transaction, as done
// at the moment now by the request's client.
func (s *Service) audit(ctx context.Context, q *store.Q, e Event) error {
	return q.AuditLogAppend(ctx, store.AuditEntry{
		At: s.now(), Event: e.Name, ActorID: e.ActorID, SubjectID: e.SubjectID, SessionID: e.SessionID,
		Client: ClientOf(ctx), Detail: auditDetail(e),
	})
}

// observe tells the observers about e, after its commit.
func (s *Service) observe(ctx context.Context, e Event) { s.events.Observe(ctx, e) }

// Bounds of what a client says about itself, as stored.
const (
	maxUserAgent  = 256 // characters
	maxClientAddr = 64  // bytes
)

type clientKey struct{}

// WithClient returns ctx carrying the request's client, which sessions
// and audit rows record: its address, cut to 64 bytes, and its User-Agent,
// cut to 256 characters, control characters and invalid UTF-8 replaced.
func WithClient(ctx context.Context, c store.Client) context.Context {
	c.Addr = cut(c.Addr, maxClientAddr)
	c.UserAgent = cut(c.UserAgent, maxUserAgent)
	return context.WithValue(ctx, clientKey{}, c)
}

// ClientOf returns the client WithClient put in ctx (empty for commands).
func ClientOf(ctx context.Context) store.Client {
	c, _ := ctx.Value(clientKey{}).(store.Client)
	return c
}

// cut keeps at most n characters of s, each printable.
func cut(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	var b strings.Builder
	for i, r := range []rune(s) {
		if i == n || b.Len()+utf8.RuneLen(r) > 4*n {
			break
		}
		if unicode.IsControl(r) {
			r = '\uFFFD'
		}
		b.WriteRune(r)
	}
	return b.String()
}
