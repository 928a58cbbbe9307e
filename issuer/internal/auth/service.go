// Package auth is the issuer's domain: registering users, logging them in,
// rotating refresh tokens, revoking sessions, changing passwords and
// verifying e-mail addresses. It knows nothing of HTTP and holds no SQL: it
// runs the store's named queries, one transaction per state change.
package auth

import (
	"cmp"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/medinsights/auth/internal/accesstoken"
	"github.com/medinsights/auth/issuer/internal/signer"
	"github.com/medinsights/auth/issuer/internal/store"
)

// Errors the service returns. Each one means a refusal the caller can
// explain; anything else is an internal failure.
var (
	// ErrInvalidCredentials: unknown user or wrong password (never says which).
	ErrInvalidCredentials = errors.New("invalid username or password")
	// ErrInvalidGrant: a refresh token that is unknown, expired, retired
	// (reused) or of a revoked session; never says which.
	ErrInvalidGrant = errors.New("invalid refresh token")
	// ErrForeignRefreshToken: a logout with a refresh token that is not one of
	// the caller's (unknown tokens included).
	ErrForeignRefreshToken = errors.New("refresh token does not belong to the caller")
	// ErrInvalidToken: an access token that does not verify, or whose session
	// is revoked or whose user is gone.
	ErrInvalidToken = errors.New("invalid access token")
	// ErrUsernameTaken and ErrEmailTaken: registration conflicts.
	ErrUsernameTaken = errors.New("username is already taken")
	ErrEmailTaken    = errors.New("email is already registered")
	// ErrInvalidVerificationToken: unknown, used, voided or expired.
	ErrInvalidVerificationToken = errors.New("invalid or expired verification token")
	// ErrAlreadyVerified: a resend for an address that is verified.
	ErrAlreadyVerified = errors.New("email address is already verified")
	// ErrUserNotFound: a user named on the command line does not exist.
	ErrUserNotFound = errors.New("user not found")
	// ErrInvalidRole: a role name that is not header-safe.
	ErrInvalidRole = errors.New("role must be lower-case letters, digits, '-' and '_'")
	// ErrPasswordChanged: a password change lost the race to another one:
	// the password it verified is no longer the user's.
	ErrPasswordChanged = errors.New("the password was changed meanwhile")
	// ErrRoleNotHeld: a role to remove that the user does not have.
	ErrRoleNotHeld = errors.New("user does not hold the role")
	// ErrOverloaded: every password hashing slot stayed busy for
	// PasswordHashWait (or the request ended first); retry later.
	ErrOverloaded = errors.New("too many password checks in progress")
	// ErrSessionNotFound: a session that is not a live session of the
	// caller (another user's and unknown ones alike).
	ErrSessionNotFound = errors.New("session not found")
	// ErrInsufficientRole: the caller lacks the role an operation needs.
	ErrInsufficientRole = errors.New("insufficient role")
	// ErrSelfLockout: an administrator disabling themselves or taking away
	// their own admin role.
	ErrSelfLockout = errors.New("an administrator cannot disable themselves or remove their own admin role")
	// ErrAccountDisabled: an administrator asked for a password reset of a
	// disabled user (a reset never enables an account).
	ErrAccountDisabled = errors.New("the account is disabled")
	// ErrInvalidResetToken: a reset token that is unknown, used,
	// superseded or expired, or of a disabled user; never says which.
	ErrInvalidResetToken = errors.New("invalid or expired password reset token")
)

// ValidationError lists, per input field, what is wrong with it. Code,
// when set, is the problem code it is answered with instead of
// validation_failed (CodePasswordBreached).
type ValidationError struct {
	Code   string
	Fields map[string][]string
}

func (e *ValidationError) Error() string {
	names := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		names = append(names, k)
	}
	sort.Strings(names)
	parts := make([]string, len(names))
	for i, n := range names {
		parts[i] = n + ": " + strings.Join(e.Fields[n], ", ")
	}
	return "invalid input: " + strings.Join(parts, "; ")
}

// Revocation reasons, as recorded on sessions and revocation events.
const (
	ReasonLogout         = "logout"
	ReasonLogoutAll      = "logout_all"
	ReasonPasswordChange = "password_change"
	ReasonRefreshReuse   = "refresh_reuse"
	ReasonRoleChange     = "role_change"
	ReasonSessionEnded   = "session_ended" // the user ended one of their sessions
	ReasonUserDisabled   = "user_disabled" // an administrator disabled the user
	ReasonLogoutForced   = "logout_forced" // an administrator ended every session
	ReasonPasswordReset  = "password_reset"
	// ReasonUnverifiedExpired: the account was deleted, still unverified
	// past UNVERIFIED_ACCOUNT_TTL.
	ReasonUnverifiedExpired = "unverified_account_expired"
)

// Defaults of the lifetimes in Options.
const (
	DeviceTokenLifetimeDefault   = 365 * 24 * time.Hour
	PasswordResetLifetimeDefault = 30 * time.Minute
	UnverifiedAccountTTLDefault  = 7 * 24 * time.Hour
)

// Options configures a Service. Store, Mailer, Issuer, Audience and the
// lifetimes are required; Signer too, except for commands that only manage
// users (grant and revoke roles).
type Options struct {
	Store           *store.Store
	Signer          *signer.Signer
	Mailer          Mailer
	Logger          *slog.Logger
	Issuer          string
	Audience        string
	AccessLifetime  time.Duration
	RefreshLifetime time.Duration
	ReuseInterval   time.Duration // REFRESH_REUSE_INTERVAL
	ClockSkew       time.Duration // leeway on exp/nbf/iat, and added to revocation event expiry
	DefaultRoles    []string
	Password        PasswordParams // zero: DefaultPasswordParams
	// Blocklist, when set, is the breached-password list CheckPassword
	// refuses from (PASSWORD_BLOCKLIST_FILE).
	Blocklist Blocklist
	// PasswordHashConcurrency bounds the argon2id computations running at
	// once (each holds Password.Memory, 12 MiB by default); zero:
	// GOMAXPROCS. argon2id with p=1 keeps one core busy, so more hashes in
	// flight than cores add memory and no throughput: the extra requests
	// wait for a slot instead. PasswordHashWait is how long a request waits for a slot
	// before ErrOverloaded; zero: 2 s.
	PasswordHashConcurrency int
	PasswordHashWait        time.Duration
	// Events, when set, observes every security event after its commit
	// (the issuer's metrics). Refresh-token reuse is answered with the same
	// invalid_grant as an unknown token, so this is how metrics see it.
	Events Events
	// AuditRetention is how long audit rows are kept (AUDIT_RETENTION_DAYS);
	// zero: forever.
	AuditRetention time.Duration
	// Throttle is the throttling of password checks, mail and
	// registrations; the zero value switches it off.
	Throttle Throttle
	// DeviceTokenLifetime is how long a device token stays known after the
	// last login that presented or received it; zero: 365 days.
	DeviceTokenLifetime time.Duration
	// PasswordResetLifetime is how long a reset token lasts; zero: 30 min.
	PasswordResetLifetime time.Duration
	// UnverifiedAccountTTL is how long a self-registered account may stay
	// unverified before Cleanup deletes it; zero: 7 days.
	UnverifiedAccountTTL time.Duration
	Now                  func() time.Time
}

// Service runs the token lifecycle. It is safe for concurrent use.
type Service struct {
	opt    Options
	log    *slog.Logger
	parser *accesstoken.Parser
	// expiredParser accepts tokens expired up to a refresh token's lifetime.
	expiredParser *accesstoken.Parser
	now           func() time.Time
	events        Events
	dummyHash     string // verified for unknown users and UnusablePassword, so they cost what a wrong password costs
	hashSlots     chan struct{}
	// auditedBlocks: the throttle blocks whose refusal this replica has
	// audited (see auditLoginThrottled).
	auditedBlocks auditedBlocks
	// afterVerifyFunc and beforeChangeWriteFunc, set by tests only, run in
	// Login and in ChangePassword between the password check and the
	// write, to force races deterministically.
	afterVerifyFunc       func(context.Context)
	beforeChangeWriteFunc func(context.Context)
}

// New returns a Service.
func New(o Options) (*Service, error) {
	if o.Store == nil || o.Mailer == nil {
		return nil, errors.New("auth: store and mailer are required")
	}
	if o.Password == (PasswordParams{}) {
		o.Password = DefaultPasswordParams
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Events == nil {
		o.Events = NoEvents{}
	}
	if o.PasswordHashConcurrency <= 0 {
		o.PasswordHashConcurrency = runtime.GOMAXPROCS(0)
	}
	if o.PasswordHashWait <= 0 {
		o.PasswordHashWait = passwordHashWaitDefault
	}
	o.DeviceTokenLifetime = cmp.Or(o.DeviceTokenLifetime, DeviceTokenLifetimeDefault)
	o.PasswordResetLifetime = cmp.Or(o.PasswordResetLifetime, PasswordResetLifetimeDefault)
	o.UnverifiedAccountTTL = cmp.Or(o.UnverifiedAccountTTL, UnverifiedAccountTTLDefault)
	o.DefaultRoles = append([]string{}, o.DefaultRoles...)
	parser, err := accesstoken.NewParser(accesstoken.Options{
		Issuer: o.Issuer, Audiences: []string{o.Audience}, Leeway: o.ClockSkew,
		MaxLifetime: o.AccessLifetime, Now: o.Now,
	})
	if err != nil {
		return nil, fmt.Errorf("create token parser: %w", err)
	}
	// The same checks with a leeway as long as a refresh token lives, for
	// CallerOf, which only identifies, never authorizes.
	expiredParser, err := accesstoken.NewParser(accesstoken.Options{
		Issuer: o.Issuer, Audiences: []string{o.Audience}, Leeway: o.RefreshLifetime,
		MaxLifetime: o.AccessLifetime, Now: o.Now,
	})
	if err != nil {
		return nil, fmt.Errorf("create token parser: %w", err)
	}
	dummy, err := HashPassword(o.Password, "not a password: a stand-in for unknown users")
	if err != nil {
		return nil, err
	}
	return &Service{
		opt: o, log: o.Logger, parser: parser, expiredParser: expiredParser, now: o.Now, dummyHash: dummy, events: o.Events,
		hashSlots: make(chan struct{}, o.PasswordHashConcurrency),
	}, nil
}

// HashingMemory is the most memory the password hashes in flight hold at
// once: PasswordHashConcurrency x argon2id's memory parameter, in bytes.
func (s *Service) HashingMemory() int64 {
	return int64(cap(s.hashSlots)) * int64(s.opt.Password.Memory) << 10
}

// TokenPair is what login and refresh return.
type TokenPair struct {
	// DeviceToken is set by Login only: the device token to keep, for
	// DeviceExpiresIn.
	DeviceToken      string
	DeviceExpiresIn  time.Duration
	AccessToken      string
	ExpiresIn        time.Duration
	RefreshToken     string
	RefreshExpiresIn time.Duration
	User             store.User
}

// Principal is the caller of a Bearer endpoint: a user and the live session
// the access token belongs to, and the client address the request came
// from (for the throttle of a password check).
type Principal struct {
	User      store.User
	SessionID uuid.UUID
	Client    netip.Addr
}

func (s *Service) tokenPair(u store.User, sessionID uuid.UUID, refresh string, now time.Time) (TokenPair, error) {
	roles := u.Roles
	if roles == nil {
		roles = []string{}
	}
	access, err := s.opt.Signer.Sign(&accesstoken.Claims{
		RegisteredClaims: accesstokenRegistered(s.opt.Issuer, u.ID.String(), s.opt.Audience, now, s.opt.AccessLifetime),
		SessionID:        sessionID.String(),
		Roles:            roles,
		Username:         u.Username,
		EmailVerified:    u.EmailVerified,
	})
	if err != nil {
		return TokenPair{}, err
	}
	return TokenPair{AccessToken: access, ExpiresIn: s.opt.AccessLifetime, RefreshToken: refresh, RefreshExpiresIn: s.opt.RefreshLifetime, User: u}, nil
}

// newOpaqueToken returns 256 random bits as base64url, and the SHA-256 of
// that text: the only form stored.
func newOpaqueToken() (string, []byte, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", nil, fmt.Errorf("read random token: %w", err)
	}
	t := tokenText(b)
	return t, hashToken(t), nil
}

// tokenText is the text of an opaque token's 32 bytes: unpadded base64url.
// (The store's refresh_token_hash computes hashToken(tokenText(b)) for the
// successors it derives: the two must agree.)
func tokenText(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// successorSeed is what the successor of a refresh token is derived from:
// a hash of the token that, unlike hashToken's, is never stored, so the
// session's refresh key and a copy of the database are not enough to
// compute a live token.
func successorSeed(t string) []byte {
	sum := sha256.Sum256([]byte("medinsights refresh successor\x00" + t))
	return sum[:]
}

func hashToken(t string) []byte {
	sum := sha256.Sum256([]byte(t))
	return sum[:]
}
