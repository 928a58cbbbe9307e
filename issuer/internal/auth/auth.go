// Package auth is the issuer's domain: registering users, logging them in,
// rotating refresh tokens, revoking sessions, changing passwords and
// verifying e-mail addresses. It knows nothing of HTTP and holds no SQL: it
// runs the store's named queries, one transaction per state change.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"slices"
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
	// ErrRoleNotHeld: a role to remove that the user does not have.
	ErrRoleNotHeld = errors.New("user does not hold the role")
	// ErrOverloaded: every password hashing slot stayed busy for
	// PasswordHashWait (or the request ended first); retry later.
	ErrOverloaded = errors.New("too many password checks in progress")
)

// ValidationError lists, per input field, what is wrong with it.
type ValidationError struct {
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
)

// VerificationLifetime is how long an e-mail verification token lasts.
const VerificationLifetime = 24 * time.Hour

// VerificationMail is the message that carries a verification token.
type VerificationMail struct {
	To        string
	Username  string
	Token     string
	ExpiresAt time.Time
}

// Mailer sends verification mail.
type Mailer interface {
	SendVerification(ctx context.Context, m VerificationMail) error
}

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
	// PasswordHashConcurrency bounds the argon2id computations running at
	// once (each holds Password.Memory, 19 MiB by default); zero: twice
	// GOMAXPROCS. PasswordHashWait is how long a request waits for a slot
	// before ErrOverloaded; zero: 2 s.
	PasswordHashConcurrency int
	PasswordHashWait        time.Duration
	// ReuseDetectedFunc, when set, is called once for every refresh-token
	// reuse detected, after its session was revoked: the answer is the same
	// invalid_grant as for an unknown token, so this is how metrics see it.
	ReuseDetectedFunc func()
	Now               func() time.Time
}

// Service runs the token lifecycle. It is safe for concurrent use.
type Service struct {
	opt    Options
	log    *slog.Logger
	parser *accesstoken.Parser
	// expiredParser accepts tokens expired up to a refresh token's lifetime.
	expiredParser *accesstoken.Parser
	now           func() time.Time
	dummyHash     string // verified for unknown users, so they cost what a wrong password costs
	hashSlots     chan struct{}
	// afterVerifyFunc, set by tests only, runs in Login between the
	// password check and the write, to force races deterministically.
	afterVerifyFunc func(context.Context)
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
	if o.PasswordHashConcurrency <= 0 {
		o.PasswordHashConcurrency = 2 * runtime.GOMAXPROCS(0)
	}
	if o.PasswordHashWait <= 0 {
		o.PasswordHashWait = passwordHashWaitDefault
	}
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
		opt: o, log: o.Logger, parser: parser, expiredParser: expiredParser, now: o.Now, dummyHash: dummy,
		hashSlots: make(chan struct{}, o.PasswordHashConcurrency),
	}, nil
}

// passwordHashWaitDefault is how long a request waits for a hashing slot.
const passwordHashWaitDefault = 2 * time.Second

// acquireHashSlot waits for one of the PasswordHashConcurrency slots, so a
// burst of logins cannot hold more argon2id memory at once than the process
// has: past PasswordHashWait, or when ctx ends, it gives up.
func (s *Service) acquireHashSlot(ctx context.Context) (release func(), err error) {
	select {
	case s.hashSlots <- struct{}{}:
		return func() { <-s.hashSlots }, nil
	default:
	}
	t := time.NewTimer(s.opt.PasswordHashWait)
	defer t.Stop()
	select {
	case s.hashSlots <- struct{}{}:
		return func() { <-s.hashSlots }, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: %w", ErrOverloaded, ctx.Err())
	case <-t.C:
		return nil, ErrOverloaded
	}
}

// hashPassword is HashPassword in a hashing slot.
func (s *Service) hashPassword(ctx context.Context, password string) (string, error) {
	release, err := s.acquireHashSlot(ctx)
	if err != nil {
		return "", err
	}
	defer release()
	return HashPassword(s.opt.Password, password)
}

// verifyPassword is VerifyPassword in a hashing slot.
func (s *Service) verifyPassword(ctx context.Context, phc, password string) (ok, rehash bool, err error) {
	release, err := s.acquireHashSlot(ctx)
	if err != nil {
		return false, false, err
	}
	defer release()
	return VerifyPassword(s.opt.Password, phc, password)
}

// TokenPair is what login and refresh return.
type TokenPair struct {
	AccessToken      string
	ExpiresIn        time.Duration
	RefreshToken     string
	RefreshExpiresIn time.Duration
	User             store.User
}

// Principal is the caller of a Bearer endpoint: a user and the live session
// the access token belongs to.
type Principal struct {
	User      store.User
	SessionID uuid.UUID
}

// RegisterInput is a new account, already checked for shape at the boundary.
type RegisterInput struct {
	Username, Email, Password, FirstName, LastName string
}

// Register creates a user with the default roles and an unverified e-mail
// address, and sends the verification mail. The user and the verification
// token are written in one transaction; the mail goes out after the commit
// (a failure to send is logged: the user can ask for another).
func (s *Service) Register(ctx context.Context, in RegisterInput) (store.User, error) {
	if err := CheckPassword("password", in.Password, in.Username, in.Email); err != nil {
		return store.User{}, err
	}
	hash, err := s.hashPassword(ctx, in.Password)
	if err != nil {
		return store.User{}, err
	}
	token, tokenHash, err := newOpaqueToken()
	if err != nil {
		return store.User{}, err
	}
	now := s.now()
	var u store.User
	err = s.opt.Store.Tx(ctx, func(q *store.Q) error {
		var err error
		u, err = q.UserInsert(ctx, store.NewUser{
			ID: uuid.New(), Username: in.Username, Email: in.Email, PasswordHash: hash,
			FirstName: in.FirstName, LastName: in.LastName, Roles: s.opt.DefaultRoles, Now: now,
		})
		if err != nil {
			return conflictError(err)
		}
		return q.EmailVerificationInsert(ctx, u.ID, tokenHash, now, now.Add(VerificationLifetime))
	})
	if err != nil {
		return store.User{}, fmt.Errorf("register: %w", err)
	}
	s.sendVerification(ctx, u, token, now)
	return u, nil
}

func conflictError(err error) error {
	switch {
	case errors.Is(err, store.ErrUsernameTaken):
		return ErrUsernameTaken
	case errors.Is(err, store.ErrEmailTaken):
		return ErrEmailTaken
	}
	return err
}

// Login checks a username (or e-mail address) and password and starts a
// session. Unknown users and wrong passwords take the same time and get the
// same error.
func (s *Service) Login(ctx context.Context, login, password string) (TokenPair, error) {
	u, err := s.opt.Store.UserGetByLogin(ctx, login)
	if errors.Is(err, store.ErrNotFound) {
		if _, _, err := s.verifyPassword(ctx, s.dummyHash, password); errors.Is(err, ErrOverloaded) {
			return TokenPair{}, err
		}
		return TokenPair{}, ErrInvalidCredentials
	}
	if err != nil {
		return TokenPair{}, fmt.Errorf("find user: %w", err)
	}
	ok, rehash, err := s.verifyPassword(ctx, u.PasswordHash, password)
	if errors.Is(err, ErrOverloaded) {
		return TokenPair{}, err
	}
	if err != nil {
		return TokenPair{}, fmt.Errorf("verify password of user %s: %w", u.ID, err)
	}
	if !ok {
		return TokenPair{}, ErrInvalidCredentials
	}
	if s.afterVerifyFunc != nil {
		s.afterVerifyFunc(ctx)
	}
	refresh, refreshHash, err := newOpaqueToken()
	if err != nil {
		return TokenPair{}, err
	}
	now := s.now()
	session := store.NewSession{
		ID: uuid.New(), UserID: u.ID, PasswordHash: u.PasswordHash, RefreshHash: refreshHash,
		Now: now, ExpiresAt: now.Add(s.opt.RefreshLifetime), AccessExpiresAt: now.Add(s.opt.AccessLifetime),
	}
	// The session is created only while the password hash is still the one
	// verified, with the user row locked, and the token carries the roles
	// the statement returns: a login overlapping a password change either
	// ends before the change (which then revokes its session) or fails; one
	// overlapping a role change gets the roles as they are after it. A
	// login that loses the race fails as invalid credentials: it is not
	// retried, since its password was checked against a hash no longer
	// stored.
	if rehash {
		// The stored hash has weaker parameters than today's: replace it now,
		// while the password is at hand, in the login's transaction, and
		// only while the stored hash is still the one verified: a password
		// changed since the read is never overwritten.
		var newHash string
		if newHash, err = s.hashPassword(ctx, password); err != nil {
			return TokenPair{}, err
		}
		err = s.opt.Store.Tx(ctx, func(q *store.Q) error {
			if _, err := q.UserRehashPassword(ctx, u.ID, u.PasswordHash, newHash, now); err != nil {
				return err
			}
			session.PasswordHash = newHash
			u, err = q.SessionCreate(ctx, session)
			return err
		})
	} else {
		u, err = s.opt.Store.SessionCreate(ctx, session) // one statement: atomic by itself
	}
	if errors.Is(err, store.ErrNotFound) {
		return TokenPair{}, ErrInvalidCredentials
	}
	if err != nil {
		return TokenPair{}, fmt.Errorf("start session: %w", err)
	}
	return s.tokenPair(u, session.ID, refresh, now)
}

// Refresh rotates a refresh token. The rule (README, "Refresh tokens"):
//
//   - a live token is retired and replaced by a new one in the same session;
//   - a token retired at most ReuseInterval ago is presented again (two tabs
//     refreshing at once, or a retry after a lost response): it gets a new
//     token in the same session too, and stays retired;
//   - a token retired longer ago is reuse, a sign that it was stolen: the
//     whole session is revoked (its newest token stops working too), a
//     revocation event is recorded, a warning is logged, and the answer is
//     ErrInvalidGrant;
//   - an unknown or expired token, or one of a revoked or expired session,
//     is ErrInvalidGrant;
//   - when the request names its caller (caller is not uuid.Nil: see
//     CallerOf), a token of another user's session is ErrInvalidGrant too,
//     and is left untouched.
//
// The common case, a live token of a live session, is one statement. Every
// other case reads the token and its session locked until the commit, so
// concurrent refreshes and revocations of one session run one at a time.
// The access token is signed after the commit, keeping the locks short.
func (s *Service) Refresh(ctx context.Context, refreshToken string, caller uuid.UUID) (TokenPair, error) {
	oldHash := hashToken(refreshToken)
	newToken, newHash, err := newOpaqueToken()
	if err != nil {
		return TokenPair{}, err
	}
	now := s.now()
	expires := now.Add(s.opt.RefreshLifetime)
	accessExpires := now.Add(s.opt.AccessLifetime)
	sessionID, u, err := s.opt.Store.RefreshTokenRotateLive(ctx, oldHash, newHash, caller, now, expires, accessExpires)
	if err == nil {
		return s.tokenPair(u, sessionID, newToken, now)
	}
	if !errors.Is(err, store.ErrNotFound) {
		return TokenPair{}, fmt.Errorf("rotate refresh token: %w", err)
	}
	var grant store.RefreshGrant
	var reused bool
	err = s.opt.Store.Tx(ctx, func(q *store.Q) error {
		reused = false // Tx may run this twice
		var err error
		grant, err = q.RefreshTokenGetForUpdate(ctx, oldHash)
		if errors.Is(err, store.ErrNotFound) {
			return ErrInvalidGrant
		}
		if err != nil {
			return err
		}
		if grant.Session.RevokedAt != nil || !now.Before(grant.Session.ExpiresAt) || !now.Before(grant.Token.ExpiresAt) ||
			(caller != uuid.Nil && caller != grant.User.ID) {
			return ErrInvalidGrant
		}
		if grant.Token.RetiredAt != nil && now.Sub(*grant.Token.RetiredAt) > s.opt.ReuseInterval {
			reused = true
			_, err := q.SessionRevoke(ctx, s.revocation(grant.User.ID, ReasonRefreshReuse, now, func(r *store.Revocation) { r.SessionID = grant.Session.ID }))
			return err
		}
		return q.RefreshTokenRotate(ctx, grant.Session.ID, oldHash, newHash, now, expires, accessExpires)
	})
	if err != nil {
		if errors.Is(err, ErrInvalidGrant) {
			return TokenPair{}, err
		}
		return TokenPair{}, fmt.Errorf("rotate refresh token: %w", err)
	}
	if reused {
		s.log.WarnContext(ctx, "refresh token reused: session revoked",
			"user_id", grant.User.ID, "session_id", grant.Session.ID,
			"retired_for", now.Sub(*grant.Token.RetiredAt).Round(time.Millisecond).String())
		if s.opt.ReuseDetectedFunc != nil {
			s.opt.ReuseDetectedFunc()
		}
		return TokenPair{}, ErrInvalidGrant
	}
	return s.tokenPair(grant.User, grant.Session.ID, newToken, now)
}

// CallerOf returns the user an access token names when the token verifies
// except perhaps for being expired (up to the refresh token lifetime), and
// uuid.Nil otherwise. A refresh request that carries its (usually expired)
// access token says who is refreshing: Refresh then refuses the refresh
// token of any other user. It grants nothing by itself.
func (s *Service) CallerOf(accessToken string) uuid.UUID {
	claims, err := s.expiredParser.Parse(accessToken, s.opt.Signer.Keys())
	if err != nil {
		return uuid.Nil
	}
	id, err := uuid.Parse(claims.Subject)
	if err != nil {
		return uuid.Nil
	}
	return id
}

// Caller is who an access token names: its user and session. It is not yet
// known to be live: Authenticate checks that, or an operation does it in its
// own statement (Logout).
type Caller struct {
	UserID    uuid.UUID
	SessionID uuid.UUID
}

// VerifyAccessToken verifies an access token with the same parser the
// gateway uses (signature, iss, aud, exp, nbf, iat, claims) and returns the
// caller it names. It does not read the database.
func (s *Service) VerifyAccessToken(accessToken string) (Caller, error) {
	claims, err := s.parser.Parse(accessToken, s.opt.Signer.Keys())
	if err != nil {
		return Caller{}, fmt.Errorf("%w: %w", ErrInvalidToken, err)
	}
	sid, err1 := uuid.Parse(claims.SessionID)
	sub, err2 := uuid.Parse(claims.Subject)
	if err1 != nil || err2 != nil {
		return Caller{}, fmt.Errorf("%w: sid or sub is not a UUID", ErrInvalidToken)
	}
	return Caller{UserID: sub, SessionID: sid}, nil
}

// Authenticate verifies an access token, then checks in the database that
// its session is live and its user exists, so a revoked session's token is
// refused at once.
func (s *Service) Authenticate(ctx context.Context, accessToken string) (Principal, error) {
	c, err := s.VerifyAccessToken(accessToken)
	if err != nil {
		return Principal{}, err
	}
	u, err := s.opt.Store.SessionAuthenticate(ctx, c.SessionID, c.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return Principal{}, fmt.Errorf("%w: session %s is not live", ErrInvalidToken, c.SessionID)
	}
	if err != nil {
		return Principal{}, fmt.Errorf("check session: %w", err)
	}
	return Principal{User: u, SessionID: c.SessionID}, nil
}

// CheckLive returns ErrInvalidToken unless the caller's session is live and
// its user exists.
func (s *Service) CheckLive(ctx context.Context, c Caller) error {
	_, err := s.opt.Store.SessionAuthenticate(ctx, c.SessionID, c.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%w: session %s is not live", ErrInvalidToken, c.SessionID)
	}
	if err != nil {
		return fmt.Errorf("check session: %w", err)
	}
	return nil
}

// Logout revokes the session of refreshToken, which must be one of the
// caller's sessions (not necessarily the one of the access token). The
// caller's own session must be live, which the revoking statement itself
// checks: a logout is one statement, shared with the logouts running at the
// same moment (see store.RevokeForLogout). Logging out a session of the
// caller's that has already ended is a no-op; a token that is unknown or of
// another user is ErrForeignRefreshToken.
func (s *Service) Logout(ctx context.Context, c Caller, refreshToken string) error {
	hash := hashToken(refreshToken)
	now := s.now()
	res, err := s.opt.Store.RevokeForLogout(ctx, store.Logout{
		UserID: c.UserID, CallerSessionID: c.SessionID, RefreshHash: hash, Reason: ReasonLogout,
		At: now, EventExpiresAt: now.Add(s.opt.AccessLifetime + s.eventMargin()), EventMargin: s.eventMargin(),
	})
	if err != nil {
		return fmt.Errorf("revoke session: %w", err)
	}
	if !res.CallerLive {
		return fmt.Errorf("%w: session %s is not live", ErrInvalidToken, c.SessionID)
	}
	if res.Revoked {
		return nil
	}
	owner, err := s.opt.Store.RefreshTokenOwner(ctx, hash)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return ErrForeignRefreshToken
	case err != nil:
		return fmt.Errorf("find refresh token owner: %w", err)
	case owner != c.UserID:
		return ErrForeignRefreshToken
	}
	return nil
}

// LogoutAll revokes every session the user has at this moment, the caller's
// included. A session started afterwards is unaffected.
func (s *Service) LogoutAll(ctx context.Context, p Principal) (int, error) {
	res, err := s.opt.Store.SessionRevoke(ctx, s.revocation(p.User.ID, ReasonLogoutAll, s.now(), nil))
	if err != nil {
		return 0, fmt.Errorf("revoke sessions: %w", err)
	}
	return res.Revoked, nil
}

// ChangePassword replaces the caller's password and revokes every other
// session of the caller, in one transaction; the caller's session goes on.
func (s *Service) ChangePassword(ctx context.Context, p Principal, current, next string) (store.User, error) {
	ok, _, err := s.verifyPassword(ctx, p.User.PasswordHash, current)
	if errors.Is(err, ErrOverloaded) {
		return store.User{}, err
	}
	if err != nil {
		return store.User{}, fmt.Errorf("verify password of user %s: %w", p.User.ID, err)
	}
	if !ok {
		return store.User{}, &ValidationError{Fields: map[string][]string{"current_password": {"is incorrect"}}}
	}
	if err := CheckPassword("new_password", next, p.User.Username, p.User.Email); err != nil {
		return store.User{}, err
	}
	if next == current {
		return store.User{}, &ValidationError{Fields: map[string][]string{"new_password": {"must differ from the current password"}}}
	}
	hash, err := s.hashPassword(ctx, next)
	if err != nil {
		return store.User{}, err
	}
	now := s.now()
	var u store.User
	err = s.opt.Store.Tx(ctx, func(q *store.Q) error {
		var err error
		if u, err = q.UserSetPasswordHash(ctx, p.User.ID, hash, now); err != nil {
			return err
		}
		_, err = q.SessionRevoke(ctx, s.revocation(p.User.ID, ReasonPasswordChange, now, func(r *store.Revocation) { r.ExceptSessionID = p.SessionID }))
		return err
	})
	if err != nil {
		return store.User{}, fmt.Errorf("change password: %w", err)
	}
	return u, nil
}

// VerifyEmail spends a verification token and marks the address verified.
func (s *Service) VerifyEmail(ctx context.Context, token string) (store.User, error) {
	u, err := s.opt.Store.EmailVerificationUse(ctx, hashToken(token), s.now())
	if errors.Is(err, store.ErrNotFound) {
		return store.User{}, ErrInvalidVerificationToken
	}
	if err != nil {
		return store.User{}, fmt.Errorf("verify email: %w", err)
	}
	return u, nil
}

// ResendVerification voids the caller's unused verification tokens and
// sends a new one.
func (s *Service) ResendVerification(ctx context.Context, p Principal) error {
	if p.User.EmailVerified {
		return ErrAlreadyVerified
	}
	token, tokenHash, err := newOpaqueToken()
	if err != nil {
		return err
	}
	now := s.now()
	err = s.opt.Store.Tx(ctx, func(q *store.Q) error {
		if err := q.EmailVerificationVoid(ctx, p.User.ID, now); err != nil {
			return err
		}
		return q.EmailVerificationInsert(ctx, p.User.ID, tokenHash, now, now.Add(VerificationLifetime))
	})
	if err != nil {
		return fmt.Errorf("renew verification token: %w", err)
	}
	s.sendVerification(ctx, p.User, token, now)
	return nil
}

// GrantRole adds a role to a user. Sessions go on: the role appears in the
// user's access tokens from the next refresh on (within the access token
// lifetime).
func (s *Service) GrantRole(ctx context.Context, username, role string) (store.User, error) {
	if !ValidRole(role) {
		return store.User{}, ErrInvalidRole
	}
	var u store.User
	err := s.opt.Store.Tx(ctx, func(q *store.Q) error {
		found, err := q.UserGetByUsername(ctx, username)
		if err != nil {
			return err
		}
		u, err = q.UserRoleAdd(ctx, found.ID, role, s.now())
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return store.User{}, ErrUserNotFound
	}
	if err != nil {
		return store.User{}, fmt.Errorf("grant role: %w", err)
	}
	return u, nil
}

// RevokeRole removes a role from a user and ends every session of the user
// in the same transaction: access tokens already signed carry the role, and
// a privilege taken away must stop working at once, not at their expiry.
// A role the user does not hold is ErrRoleNotHeld, and then nothing changes:
// no token carries that role, so no session has a reason to end.
func (s *Service) RevokeRole(ctx context.Context, username, role string) (store.User, int, error) {
	if !ValidRole(role) {
		return store.User{}, 0, ErrInvalidRole
	}
	var u store.User
	var res store.RevokeResult
	now := s.now()
	err := s.opt.Store.Tx(ctx, func(q *store.Q) error {
		found, err := q.UserGetByUsername(ctx, username)
		if err != nil {
			return err
		}
		if !slices.Contains(found.Roles, role) {
			return ErrRoleNotHeld
		}
		if u, err = q.UserRoleRemove(ctx, found.ID, role, now); err != nil {
			return err
		}
		res, err = q.SessionRevoke(ctx, s.revocation(found.ID, ReasonRoleChange, now, nil))
		return err
	})
	if errors.Is(err, store.ErrNotFound) {
		return store.User{}, 0, ErrUserNotFound
	}
	if err != nil {
		return store.User{}, 0, fmt.Errorf("revoke role: %w", err)
	}
	return u, res.Revoked, nil
}

// revocationMargin is added, besides the clock skew, to the time a
// revocation event must outlive: rounding and a slow signer never let a
// token outlive its event.
const revocationMargin = time.Minute

// eventMargin is what a revocation event outlives the last access token of
// its session by.
func (s *Service) eventMargin() time.Duration { return s.opt.ClockSkew + revocationMargin }

// revocation builds a store.Revocation whose events expire when no access
// token of the session can be alive: the later of revocation time + access
// token lifetime and the exp of the session's latest access token (signed
// perhaps under a longer JWT_ACCESS_TOKEN_LIFETIME), plus clock skew and a
// minute.
func (s *Service) revocation(userID uuid.UUID, reason string, now time.Time, set func(*store.Revocation)) store.Revocation {
	r := store.Revocation{
		UserID: userID, Reason: reason, At: now,
		EventExpiresAt: now.Add(s.opt.AccessLifetime + s.eventMargin()), EventMargin: s.eventMargin(),
	}
	if set != nil {
		set(&r)
	}
	return r
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

// sendVerification sends after the commit, and to the end even when the
// client has gone: the token is already stored.
func (s *Service) sendVerification(ctx context.Context, u store.User, token string, now time.Time) {
	ctx = context.WithoutCancel(ctx)
	m := VerificationMail{To: u.Email, Username: u.Username, Token: token, ExpiresAt: now.Add(VerificationLifetime)}
	if err := s.opt.Mailer.SendVerification(ctx, m); err != nil {
		s.log.ErrorContext(ctx, "send verification mail", "user_id", u.ID, "error", err.Error())
	}
}

// newOpaqueToken returns 256 random bits as base64url, and the SHA-256 of
// that text: the only form stored.
func newOpaqueToken() (string, []byte, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", nil, fmt.Errorf("read random token: %w", err)
	}
	t := base64.RawURLEncoding.EncodeToString(b)
	return t, hashToken(t), nil
}

func hashToken(t string) []byte {
	sum := sha256.Sum256([]byte(t))
	return sum[:]
}

// expiredGrace is how long after expiry a session or a verification token
// is kept before Cleanup deletes it.
const expiredGrace = 24 * time.Hour

// Cleanup deletes sessions (with their refresh tokens) and verification
// tokens that expired more than a day ago, in batches, and returns how many
// of each it deleted. Revocation events are pruned by the feed.
func (s *Service) Cleanup(ctx context.Context) (sessions, verifications int64, err error) {
	before := s.now().Add(-expiredGrace)
	sessions, err = deleteInBatches(ctx, before, s.opt.Store.SessionDeleteExpired)
	if err != nil {
		return sessions, 0, fmt.Errorf("delete expired sessions: %w", err)
	}
	verifications, err = deleteInBatches(ctx, before, s.opt.Store.EmailVerificationDeleteExpired)
	if err != nil {
		return sessions, verifications, fmt.Errorf("delete expired verification tokens: %w", err)
	}
	return sessions, verifications, nil
}

// deleteInBatches calls deleteFunc with batches of cleanupBatch rows until a
// batch comes back short, so no statement holds many row locks at once, and
// returns how many rows were deleted in all.
func deleteInBatches(ctx context.Context, before time.Time, deleteFunc func(context.Context, time.Time, int32) (int64, error)) (int64, error) {
	var total int64
	for {
		n, err := deleteFunc(ctx, before, cleanupBatch)
		total += n
		if err != nil || n < cleanupBatch {
			return total, err
		}
	}
}

// cleanupBatch is the most rows one cleanup statement deletes.
const cleanupBatch = 5000

// RunCleanup calls Cleanup every interval until ctx ends. Every replica may
// run it: concurrent deletions of the same rows are harmless.
func (s *Service) RunCleanup(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		sessions, verifications, err := s.Cleanup(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			s.log.WarnContext(ctx, "cleanup of expired rows", "error", err.Error())
		case sessions+verifications > 0:
			s.log.InfoContext(ctx, "deleted expired rows", "sessions", sessions, "verification_tokens", verifications)
		}
	}
}
