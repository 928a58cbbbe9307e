package store

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/medinsights/auth/issuer/internal/identifier"
	"github.com/medinsights/auth/issuer/internal/store/dbsqlc"
)

// User is a user account. PasswordHash is an argon2id PHC string.
type User struct {
	ID            uuid.UUID
	Username      string
	Email         string
	PasswordHash  string
	FirstName     string
	LastName      string
	EmailVerified bool
	Roles         []string
	DateJoined    time.Time
	UpdatedAt     time.Time
	// DisabledAt is when the account was disabled; nil: enabled. A disabled
	// user's login is refused like a wrong password.
	DisabledAt *time.Time
}

// Client is where a request came from: its address and its User-Agent,
// as recorded on sessions and audit rows. The auth service bounds both.
type Client struct {
	Addr      string
	UserAgent string
}

// LiveSession is a live session as its user sees it in their list.
type LiveSession struct {
	ID         uuid.UUID
	CreatedAt  time.Time
	LastUsedAt time.Time
	Client     Client
}

// Session is one login and everything rotated from it.
type Session struct {
	ID           uuid.UUID
	UserID       uuid.UUID
	CreatedAt    time.Time
	ExpiresAt    time.Time
	RevokedAt    *time.Time
	RevokeReason string
}

// RefreshToken is the stored form of a refresh token: its SHA-256 only.
type RefreshToken struct {
	Hash      []byte
	SessionID uuid.UUID
	IssuedAt  time.Time
	ExpiresAt time.Time
	RetiredAt *time.Time
}

// RefreshGrant is a refresh token with its session and user, as read (and
// locked) at the start of a rotation.
type RefreshGrant struct {
	Token   RefreshToken
	Session Session
	User    User
}

// NewUser is what UserInsert writes.
type NewUser struct {
	ID           uuid.UUID
	Username     string
	Email        string
	PasswordHash string
	FirstName    string
	LastName     string
	Roles        []string
	Now          time.Time
	// UnverifiedExpiresAt, when set, is when the account is deleted if its
	// e-mail address is still unverified.
	UnverifiedExpiresAt *time.Time
}

// NewSession is a session and its first refresh token. PasswordHash is the
// user's password hash the login verified: the session is created only
// while it is still the stored one.
type NewSession struct {
	ID           uuid.UUID
	UserID       uuid.UUID
	PasswordHash string
	RefreshHash  []byte
	Now          time.Time
	ExpiresAt    time.Time
	// AccessExpiresAt is the exp of the access token about to be signed.
	AccessExpiresAt time.Time
	Client          Client
	// AuditEvent names the audit row written with the session.
	AuditEvent string
	// DeviceHash, when set, is the hash of the device token to store (or
	// extend) for the user, until DeviceExpiresAt.
	DeviceHash      []byte
	DeviceExpiresAt time.Time
	// ThrottleKey, when set, is the throttle counter the login forgets.
	ThrottleKey []byte
}

// Revocation selects the live sessions of one user to revoke. With no filter
// set, every live session of the user is revoked.
type Revocation struct {
	UserID          uuid.UUID
	SessionID       uuid.UUID // only this session
	ExceptSessionID uuid.UUID // every session but this one
	RefreshHash     []byte    // only the session of this refresh token
	Reason          string
	At              time.Time
	// Each event expires at the later of EventExpiresAt and its session's
	// latest access token exp + EventMargin.
	EventExpiresAt time.Time
	EventMargin    time.Duration
	// Audit, when set, is the audit row written by the same statement when
	// it ends at least one session.
	Audit *RevocationAudit
}

// RevocationAudit is the audit row of a revocation: its subject is the
// revocation's user, its detail the reason and the number of sessions ended.
type RevocationAudit struct {
	Event     string
	ActorID   uuid.UUID
	SessionID uuid.UUID
	Client    Client
}

// RevokeResult tells how many sessions a revocation ended and the sequence
// number of its last event (zero when it ended none).
type RevokeResult struct {
	Revoked int
	LastSeq int64
}

func toUser(u dbsqlc.User) User {
	roles := u.Roles
	if roles == nil {
		roles = []string{}
	}
	return User{
		ID: u.ID, Username: u.Username, Email: u.Email, PasswordHash: u.PasswordHash,
		FirstName: u.FirstName, LastName: u.LastName, EmailVerified: u.EmailVerified,
		Roles: roles, DateJoined: u.DateJoined, UpdatedAt: u.UpdatedAt, DisabledAt: timePtr(u.DisabledAt),
	}
}

func toSession(s dbsqlc.Session) Session {
	return Session{
		ID: s.ID, UserID: s.UserID, CreatedAt: s.CreatedAt, ExpiresAt: s.ExpiresAt,
		RevokedAt: timePtr(s.RevokedAt), RevokeReason: s.RevokeReason.String,
	}
}

func toRefreshToken(t dbsqlc.RefreshToken) RefreshToken {
	return RefreshToken{Hash: t.Hash, SessionID: t.SessionID, IssuedAt: t.IssuedAt, ExpiresAt: t.ExpiresAt, RetiredAt: timePtr(t.RetiredAt)}
}

func timePtr(t pgtype.Timestamptz) *time.Time {
	if !t.Valid {
		return nil
	}
	v := t.Time
	return &v
}

func timestamptz(t *time.Time) pgtype.Timestamptz {
	if t == nil {
		return pgtype.Timestamptz{}
	}
	return pgtype.Timestamptz{Time: *t, Valid: true}
}

func interval(d time.Duration) pgtype.Interval {
	return pgtype.Interval{Microseconds: d.Microseconds(), Valid: true}
}

func nullUUID(id uuid.UUID) uuid.NullUUID { return uuid.NullUUID{UUID: id, Valid: id != uuid.Nil} }

func userResult(u dbsqlc.User, err error) (User, error) {
	if err != nil {
		return User{}, interpretError(err)
	}
	return toUser(u), nil
}

// UserInsert creates a user and claims its login names, the username and
// the e-mail address, in one statement: ErrUsernameTaken when the username
// is any user's username or e-mail address (any case), or looks like one
// (the same identifier.Skeleton), ErrEmailTaken when the address is. On
// either error the user row is written all the same: call it inside Tx,
// which rolls back on the error.
func (q *Q) UserInsert(ctx context.Context, u NewUser) (User, error) {
	row, err := q.q.UserInsert(ctx, q.db, dbsqlc.UserInsertParams{
		ID: u.ID, Username: u.Username, Email: u.Email, PasswordHash: u.PasswordHash,
		FirstName: u.FirstName, LastName: u.LastName, Roles: u.Roles, Now: u.Now,
		UsernameSkeleton: identifier.Skeleton(u.Username), EmailSkeleton: identifier.Skeleton(u.Email),
		UnverifiedExpiresAt: timestamptz(u.UnverifiedExpiresAt),
	})
	switch {
	case err != nil:
		return User{}, conflictField(interpretError(err))
	case !row.UsernameClaimed:
		return User{}, ErrUsernameTaken
	case !row.EmailClaimed:
		return User{}, ErrEmailTaken
	}
	return toUser(dbsqlc.User{
		ID: row.ID, Username: row.Username, Email: row.Email, PasswordHash: row.PasswordHash,
		FirstName: row.FirstName, LastName: row.LastName, EmailVerified: row.EmailVerified,
		Roles: row.Roles, DateJoined: row.DateJoined, UpdatedAt: row.UpdatedAt,
	}), nil
}

// conflictField turns a unique violation on users into the sentinel of the
// field it is about.
func conflictField(err error) error {
	var c *ConflictError
	if errors.As(err, &c) {
		switch c.Constraint {
		case "users_username_key":
			return ErrUsernameTaken
		case "users_email_key":
			return ErrEmailTaken
		}
	}
	return err
}

// UserGetByID returns a user, or ErrNotFound.
func (q *Q) UserGetByID(ctx context.Context, id uuid.UUID) (User, error) {
	return userResult(q.q.UserGetByID(ctx, q.db, id))
}

// UserGetByUsername returns the user with this username (any case), or ErrNotFound.
func (q *Q) UserGetByUsername(ctx context.Context, username string) (User, error) {
	return userResult(q.q.UserGetByUsername(ctx, q.db, username))
}

// UserSetPasswordHash replaces a user's password hash.
func (q *Q) UserSetPasswordHash(ctx context.Context, id uuid.UUID, hash string, now time.Time) (User, error) {
	return userResult(q.q.UserSetPasswordHash(ctx, q.db, dbsqlc.UserSetPasswordHashParams{ID: id, PasswordHash: hash, Now: now}))
}

// UserChangePassword replaces the password hash oldHash, the one the caller
// verified, by newHash, only while session sessionID of the user is live.
// ErrNotFound when the session is not live or the hash is no longer
// oldHash: the caller tells which (a revoked session is checked first).
func (q *Q) UserChangePassword(ctx context.Context, id, sessionID uuid.UUID, oldHash, newHash string, now time.Time) (User, error) {
	return userResult(q.q.UserChangePassword(ctx, q.db, dbsqlc.UserChangePasswordParams{
		ID: id, SessionID: sessionID, OldHash: oldHash, NewHash: newHash, Now: now,
	}))
}

// UserRehashPassword replaces a user's password hash oldHash by newHash,
// and returns ErrNotFound when the stored hash is no longer oldHash (the
// password was changed since it was read).
func (q *Q) UserRehashPassword(ctx context.Context, id uuid.UUID, oldHash, newHash string, now time.Time) (User, error) {
	return userResult(q.q.UserRehashPassword(ctx, q.db, dbsqlc.UserRehashPasswordParams{ID: id, OldHash: oldHash, NewHash: newHash, Now: now}))
}

// UserSetDisabled disables the user (at set) or enables it (at nil). It ends
// no session: the caller revokes them in the same transaction.
func (q *Q) UserSetDisabled(ctx context.Context, id uuid.UUID, at *time.Time, now time.Time) (User, error) {
	return userResult(q.q.UserSetDisabled(ctx, q.db, dbsqlc.UserSetDisabledParams{ID: id, DisabledAt: timestamptz(at), Now: now}))
}

// UserRoleAdd adds a role to a user (a no-op when present).
func (q *Q) UserRoleAdd(ctx context.Context, id uuid.UUID, role string, now time.Time) (User, error) {
	return userResult(q.q.UserRoleAdd(ctx, q.db, dbsqlc.UserRoleAddParams{ID: id, Role: role, Now: now}))
}

// UserRoleRemove removes a role from a user (a no-op when absent).
func (q *Q) UserRoleRemove(ctx context.Context, id uuid.UUID, role string, now time.Time) (User, error) {
	return userResult(q.q.UserRoleRemove(ctx, q.db, dbsqlc.UserRoleRemoveParams{ID: id, Role: role, Now: now}))
}

// SessionCreate starts a session with its first refresh token, only while
// the user's password hash is still s.PasswordHash, and returns the user as
// the statement saw it (sign the access token with these roles).
// ErrNotFound when the user is gone or its password hash has changed. The
// session's refresh key, which derives every successor refresh token, is
// drawn here and goes straight to the database.
func (q *Q) SessionCreate(ctx context.Context, s NewSession) (User, error) {
	key := make([]byte, refreshKeyLen)
	if _, err := rand.Read(key); err != nil {
		return User{}, fmt.Errorf("read session refresh key: %w", err)
	}
	row, err := q.q.SessionCreate(ctx, q.db, dbsqlc.SessionCreateParams{
		ID: s.ID, UserID: s.UserID, PasswordHash: s.PasswordHash, Now: s.Now, ExpiresAt: s.ExpiresAt, RefreshHash: s.RefreshHash,
		AccessExpiresAt: s.AccessExpiresAt, ClientAddr: s.Client.Addr, UserAgent: s.Client.UserAgent, AuditEvent: s.AuditEvent,
		DeviceHash: s.DeviceHash, DeviceExpiresAt: s.DeviceExpiresAt, ThrottleKey: s.ThrottleKey, RefreshKey: key,
	})
	return userResult(dbsqlc.User(row), err)
}

// SessionAuthenticate returns the user of session sessionID when that
// session is live and belongs to userID, or ErrNotFound.
func (q *Q) SessionAuthenticate(ctx context.Context, sessionID, userID uuid.UUID) (User, error) {
	return userResult(q.q.SessionAuthenticate(ctx, q.db, dbsqlc.SessionAuthenticateParams{SessionID: sessionID, UserID: userID}))
}

// SessionGetByID returns a session, or ErrNotFound.
func (q *Q) SessionGetByID(ctx context.Context, id uuid.UUID) (Session, error) {
	s, err := q.q.SessionGetByID(ctx, q.db, id)
	if err != nil {
		return Session{}, interpretError(err)
	}
	return toSession(s), nil
}

// SessionListLive returns up to max live sessions of a user, newest first.
func (q *Q) SessionListLive(ctx context.Context, userID uuid.UUID, now time.Time, max int32) ([]LiveSession, error) {
	rows, err := q.q.SessionListLive(ctx, q.db, dbsqlc.SessionListLiveParams{UserID: userID, Now: now, MaxRows: max})
	if err != nil {
		return nil, interpretError(err)
	}
	out := make([]LiveSession, len(rows))
	for i, r := range rows {
		used := r.CreatedAt
		if r.LastUsedAt.Valid {
			used = r.LastUsedAt.Time
		}
		out[i] = LiveSession{ID: r.ID, CreatedAt: r.CreatedAt, LastUsedAt: used, Client: Client{Addr: r.ClientAddr, UserAgent: r.UserAgent}}
	}
	return out, nil
}

// SessionRevoke revokes the sessions r selects and records one revocation
// event for each, with its sequence number, and notifies the feed's
// listeners at commit; with r.Audit set and a session ended, it writes the
// audit row too. Inside a transaction, call it last: it locks the feed
// row until the transaction ends.
func (q *Q) SessionRevoke(ctx context.Context, r Revocation) (RevokeResult, error) {
	p := dbsqlc.SessionRevokeParams{
		Now: r.At, Reason: r.Reason, UserID: r.UserID,
		OnlySessionID: nullUUID(r.SessionID), ExceptSessionID: nullUUID(r.ExceptSessionID),
		RefreshHash: r.RefreshHash, EventExpiresAt: r.EventExpiresAt, EventMargin: interval(r.EventMargin),
	}
	if a := r.Audit; a != nil {
		p.AuditEvent = pgtype.Text{String: a.Event, Valid: true}
		p.AuditActorID, p.AuditSessionID = nullUUID(a.ActorID), nullUUID(a.SessionID)
		p.AuditClientAddr, p.AuditUserAgent = a.Client.Addr, a.Client.UserAgent
	}
	row, err := q.q.SessionRevoke(ctx, q.db, p)
	if err != nil {
		return RevokeResult{}, interpretError(err)
	}
	return RevokeResult{Revoked: int(row.Revoked), LastSeq: row.LastSeq}, nil
}

// RefreshTokenGetForUpdate reads a refresh token with its session and user,
// locking the token and the session until the transaction ends. ErrNotFound
// when the token is unknown.
func (q *Q) RefreshTokenGetForUpdate(ctx context.Context, hash []byte) (RefreshGrant, error) {
	row, err := q.q.RefreshTokenGetForUpdate(ctx, q.db, hash)
	if err != nil {
		return RefreshGrant{}, interpretError(err)
	}
	return RefreshGrant{Token: toRefreshToken(row.RefreshToken), Session: toSession(row.Session), User: toUser(row.User)}, nil
}

// refreshKeyLen is the length of a session's refresh key (HMAC-SHA256).
const refreshKeyLen = 32

// RefreshTokenRotate retires oldHash (unless already retired), extends the
// session to expiresAt, records accessExpiresAt (the exp of the access
// token about to be signed) and that the session was used now by client,
// and returns the successor's 32 bytes: the same successor
// RefreshTokenRotateLive returned for this seed, stored unless it already is.
func (q *Q) RefreshTokenRotate(ctx context.Context, sessionID uuid.UUID, oldHash, successorSeed []byte, now, expiresAt, accessExpiresAt time.Time, client Client) ([]byte, error) {
	successor, err := q.q.RefreshTokenRotate(ctx, q.db, dbsqlc.RefreshTokenRotateParams{
		OldHash: oldHash, SuccessorSeed: successorSeed, SessionID: sessionID, Now: now, ExpiresAt: expiresAt, AccessExpiresAt: accessExpiresAt,
		ClientAddr: client.Addr, UserAgent: client.UserAgent,
	})
	return successor, interpretError(err)
}

// RefreshTokenOwner returns the id of the user whose session holds the
// token, or ErrNotFound.
func (q *Q) RefreshTokenOwner(ctx context.Context, hash []byte) (uuid.UUID, error) {
	id, err := q.q.RefreshTokenOwner(ctx, q.db, hash)
	return id, interpretError(err)
}

// EmailVerificationInsert stores a verification token's hash.
func (q *Q) EmailVerificationInsert(ctx context.Context, userID uuid.UUID, hash []byte, now, expiresAt time.Time) error {
	return interpretError(q.q.EmailVerificationInsert(ctx, q.db, dbsqlc.EmailVerificationInsertParams{
		Hash: hash, UserID: userID, Now: now, ExpiresAt: expiresAt,
	}))
}

// EmailVerificationVoid makes every unused verification token of a user unusable.
func (q *Q) EmailVerificationVoid(ctx context.Context, userID uuid.UUID, now time.Time) error {
	return interpretError(q.q.EmailVerificationVoid(ctx, q.db, dbsqlc.EmailVerificationVoidParams{UserID: userID, Now: now}))
}

// EmailVerificationUse spends a live verification token and marks its user's
// e-mail address verified. ErrNotFound when the token is unknown, used,
// voided or expired.
func (q *Q) EmailVerificationUse(ctx context.Context, hash []byte, now time.Time) (User, error) {
	return userResult(q.q.EmailVerificationUse(ctx, q.db, dbsqlc.EmailVerificationUseParams{Hash: hash, Now: now}))
}

// Rotation is what a refresh-token rotation returns: the session, its user
// and the successor token's 32 bytes (HMAC-SHA256 of the seed under the
// session's refresh key; the store keeps only the hash of its text).
type Rotation struct {
	SessionID uuid.UUID
	User      User
	Successor []byte
}

// RefreshTokenRotateLive rotates a live refresh token of a live session in
// one statement: it retires oldHash, stores the successor derived from
// successorSeed, extends the session to expiresAt, records accessExpiresAt
// (the exp of the access token about to be signed) and that the session was
// used now by client, and returns the rotation. ErrNotFound when the token
// is unknown, retired or expired, its session revoked or expired, or (when
// userID is set) the session is another user's; the caller then decides
// with RefreshTokenGetForUpdate.
func (q *Q) RefreshTokenRotateLive(ctx context.Context, oldHash, successorSeed []byte, userID uuid.UUID, now, expiresAt, accessExpiresAt time.Time, client Client) (Rotation, error) {
	row, err := q.q.RefreshTokenRotateLive(ctx, q.db, dbsqlc.RefreshTokenRotateLiveParams{
		OldHash: oldHash, SuccessorSeed: successorSeed, UserID: nullUUID(userID), Now: now, ExpiresAt: expiresAt, AccessExpiresAt: accessExpiresAt,
		ClientAddr: client.Addr, UserAgent: client.UserAgent,
	})
	if err != nil {
		return Rotation{}, interpretError(err)
	}
	return Rotation{SessionID: row.SessionID, User: toUser(row.User), Successor: row.Successor}, nil
}

// SessionDeleteExpired deletes up to max sessions (and their refresh
// tokens) that expired before before, and returns how many it deleted.
func (q *Q) SessionDeleteExpired(ctx context.Context, before time.Time, max int32) (int64, error) {
	n, err := q.q.SessionDeleteExpired(ctx, q.db, dbsqlc.SessionDeleteExpiredParams{Before: before, MaxRows: max})
	return n, interpretError(err)
}

// EmailVerificationDeleteExpired deletes up to max verification tokens that
// expired before before, and returns how many it deleted.
func (q *Q) EmailVerificationDeleteExpired(ctx context.Context, before time.Time, max int32) (int64, error) {
	n, err := q.q.EmailVerificationDeleteExpired(ctx, q.db, dbsqlc.EmailVerificationDeleteExpiredParams{Before: before, MaxRows: max})
	return n, interpretError(err)
}
