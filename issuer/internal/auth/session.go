package auth

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/google/uuid"

	"github.com/medinsights/auth/issuer/internal/identifier"
	"github.com/medinsights/auth/issuer/internal/store"
)

// LoginInput is a login request: the login name (a username or an e-mail
// address), the password, the device token the client kept from an earlier
// login (may be empty) and the client's address.
type LoginInput struct {
	Login, Password, DeviceToken string
	Client                       netip.Addr
}

// Login checks a login name and password and starts a session. Unknown
// users and wrong passwords take the same time, get the same error and are
// throttled alike. The throttle is read in the statement that finds the
// user, before any password hash is computed: a throttled login computes
// none and gets a ThrottledError. A failure is counted on the login's
// counters in one more statement; a success forgets its pair's counter and
// stores the device token in the statement that creates the session.
func (s *Service) Login(ctx context.Context, in LoginInput) (TokenPair, error) {
	now := s.now()
	in.Login = identifier.LoginName(in.Login) // also the throttle's key: one per address, however spelt
	counters := s.loginCounters(in.Login, in.Client)
	var deviceHash []byte
	if in.DeviceToken != "" {
		deviceHash = hashToken(in.DeviceToken)
	}
	c, err := s.opt.Store.UserGetForLogin(ctx, in.Login, deviceHash, counters.keys(s.opt.Throttle.Enabled), now)
	if err != nil {
		return TokenPair{}, fmt.Errorf("find user: %w", err)
	}
	if refused, err := s.checkLogin(c, counters, now); err != nil {
		if aerr := s.loginThrottled(ctx, c.UserID, refused, now); aerr != nil {
			return TokenPair{}, aerr
		}
		return TokenPair{}, err
	}
	// fail counts a failed login on the throttle's counters and writes its
	// audit row, with the reason (never told to the client).
	fail := func(userID uuid.UUID, reason string) (TokenPair, error) {
		if err := s.loginFailed(ctx, counters, now); err != nil {
			return TokenPair{}, err
		}
		return TokenPair{}, s.auditLoginFailed(ctx, userID, reason)
	}
	if c.UserID == uuid.Nil {
		if _, _, err := s.verifyPassword(ctx, UnusablePassword, in.Password); errors.Is(err, ErrOverloaded) {
			return TokenPair{}, err
		}
		return fail(uuid.Nil, LoginFailedUnknownUser)
	}
	ok, rehash, err := s.verifyPassword(ctx, c.PasswordHash, in.Password)
	if errors.Is(err, ErrOverloaded) {
		return TokenPair{}, err
	}
	if err != nil {
		return TokenPair{}, fmt.Errorf("verify password of user %s: %w", c.UserID, err)
	}
	if !ok {
		return fail(c.UserID, LoginFailedBadPassword)
	}
	if s.afterVerifyFunc != nil {
		s.afterVerifyFunc(ctx)
	}
	// A device token of this user is kept (and its life extended); any
	// other, or none, is replaced by a new one.
	device := in.DeviceToken
	if !c.DeviceKnown {
		if device, deviceHash, err = newOpaqueToken(); err != nil {
			return TokenPair{}, err
		}
	}
	refresh, refreshHash, err := newOpaqueToken()
	if err != nil {
		return TokenPair{}, err
	}
	session := store.NewSession{
		ID: uuid.New(), UserID: c.UserID, PasswordHash: c.PasswordHash, RefreshHash: refreshHash,
		Now: now, ExpiresAt: now.Add(s.opt.RefreshLifetime), AccessExpiresAt: now.Add(s.opt.AccessLifetime),
		DeviceHash: deviceHash, DeviceExpiresAt: now.Add(s.opt.DeviceTokenLifetime),
		Client: ClientOf(ctx), AuditEvent: EventLoginSucceeded,
	}
	if s.opt.Throttle.Enabled {
		session.ThrottleKey = counters.pair.Key
	}
	var u store.User
	// The session is created only while the password hash is still the one
	// verified, with the user row locked, and the token carries the roles
	// the statement returns: a login overlapping a password change either
	// ends before the change (which then revokes its session) or fails; one
	// overlapping a role change gets the roles as they are after it. A
	// login that loses the race fails as invalid credentials: it is not
	// retried, since its password was checked against a hash no longer
	// stored, and it counts as a failure, as a disabled user's does: the
	// throttle treats it as it treats a wrong password.
	if rehash && !c.Disabled {
		// The stored hash is a Django one, or an argon2id with weaker
		// parameters than today's: replace it now, while the password is at
		// hand, in the login's transaction, and only while the stored hash
		// is still the one verified: a password changed since the read is
		// never overwritten. Not for a disabled user, whose login fails
		// below: the extra hash would tell a right password from a wrong one.
		var newHash string
		if newHash, err = s.hashPassword(ctx, in.Password); err != nil {
			return TokenPair{}, err
		}
		err = s.opt.Store.Tx(ctx, func(q *store.Q) error {
			if _, err := q.UserRehashPassword(ctx, c.UserID, c.PasswordHash, newHash, now); err != nil {
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
		// Disabled, or the password changed since the check: only the audit
		// row tells which (one more statement, on this rare path only).
		reason := LoginFailedAccountChanged
		if user, err := s.opt.Store.UserGetByID(ctx, c.UserID); err == nil && user.DisabledAt != nil {
			reason = LoginFailedDisabled
		}
		return fail(c.UserID, reason)
	}
	if err != nil {
		return TokenPair{}, fmt.Errorf("start session: %w", err)
	}
	s.observe(ctx, Event{Name: EventLoginSucceeded, ActorID: u.ID, SubjectID: u.ID, SessionID: session.ID})
	t, err := s.tokenPair(u, session.ID, refresh, now)
	t.DeviceToken, t.DeviceExpiresIn = device, s.opt.DeviceTokenLifetime
	return t, err
}

// loginThrottled reports a login the blocks refused refused: observed
// every time, audited on the first refusal of one of the blocks on this
// replica (see auditedBlocks), with the rules and when the last block ends.
func (s *Service) loginThrottled(ctx context.Context, userID uuid.UUID, refused []block, now time.Time) error {
	rules := make([]string, len(refused))
	until := now
	for i, b := range refused {
		rules[i] = b.rule
		until = later(until, b.until)
	}
	e := Event{Name: EventLoginFailed, Reason: LoginFailedThrottled, ActorID: userID, SubjectID: userID,
		Detail: map[string]any{"rules": rules, "blocked_until": until.UTC().Format(time.RFC3339)}}
	if s.auditedBlocks.first(refused, now) {
		if err := s.audit(ctx, s.opt.Store.Q, e); err != nil {
			return fmt.Errorf("audit throttled login: %w", err)
		}
	}
	s.observe(ctx, e)
	return nil
}

// auditLoginFailed writes the audit row of a failed login (one statement, a
// transaction of its own: nothing else is written) and returns
// ErrInvalidCredentials, whatever the reason.
func (s *Service) auditLoginFailed(ctx context.Context, userID uuid.UUID, reason string) error {
	e := Event{Name: EventLoginFailed, Reason: reason, ActorID: userID, SubjectID: userID}
	if err := s.audit(ctx, s.opt.Store.Q, e); err != nil {
		return fmt.Errorf("audit failed login: %w", err)
	}
	s.observe(ctx, e)
	return ErrInvalidCredentials
}

// Refresh rotates a refresh token. The rule (README, "Refresh tokens"):
//
//   - a live token is retired and replaced by a new one in the same session;
//   - a token retired at most ReuseInterval ago is presented again (two tabs
//     refreshing at once, or a retry after a lost response): it gets the
//     same successor as the first time, and stays retired, so the session
//     never forks into two chains: a thief racing the owner shares the
//     owner's chain, and the next stale use of either is caught as reuse.
//     The successor is derived from the presented token (successorSeed)
//     under the session's random refresh key, inside the statement;
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
	oldHash, seed := hashToken(refreshToken), successorSeed(refreshToken)
	now := s.now()
	expires := now.Add(s.opt.RefreshLifetime)
	accessExpires := now.Add(s.opt.AccessLifetime)
	client := ClientOf(ctx)
	rot, err := s.opt.Store.RefreshTokenRotateLive(ctx, oldHash, seed, caller, now, expires, accessExpires, client)
	if err == nil {
		s.observe(ctx, Event{Name: EventRefreshRotated, ActorID: rot.User.ID, SubjectID: rot.User.ID, SessionID: rot.SessionID})
		return s.tokenPair(rot.User, rot.SessionID, tokenText(rot.Successor), now)
	}
	if !errors.Is(err, store.ErrNotFound) {
		return TokenPair{}, fmt.Errorf("rotate refresh token: %w", err)
	}
	var grant store.RefreshGrant
	var reused bool
	var successor []byte
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
			_, err := q.SessionRevoke(ctx, s.revocation(grant.User.ID, ReasonRefreshReuse, now, func(r *store.Revocation) {
				r.SessionID = grant.Session.ID
				r.Audit = &store.RevocationAudit{Event: EventRefreshReuseDetected, SessionID: grant.Session.ID, Client: client}
			}))
			return err
		}
		successor, err = q.RefreshTokenRotate(ctx, grant.Session.ID, oldHash, seed, now, expires, accessExpires, client)
		return err
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
		s.observe(ctx, Event{Name: EventRefreshReuseDetected, SubjectID: grant.User.ID, SessionID: grant.Session.ID})
		return TokenPair{}, ErrInvalidGrant
	}
	s.observe(ctx, Event{Name: EventRefreshRotated, ActorID: grant.User.ID, SubjectID: grant.User.ID, SessionID: grant.Session.ID})
	return s.tokenPair(grant.User, grant.Session.ID, tokenText(successor), now)
}
