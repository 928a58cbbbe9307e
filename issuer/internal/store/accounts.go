package store

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/medinsights/auth/issuer/internal/store/dbsqlc"
)

// LoginCheck is what a login reads before it checks a password: the user
// of the login name, whether the presented device token is one of theirs,
// and until when each of the login's throttle counters is blocked (a time
// not after the check's now means not blocked).
type LoginCheck struct {
	UserID                                                     uuid.UUID // uuid.Nil: no such login name
	PasswordHash                                               string
	Disabled                                                   bool // the user is disabled: the login will fail
	DeviceKnown                                                bool
	PairBlockedUntil, AddressBlockedUntil, AccountBlockedUntil time.Time
}

// LoginKeys are the throttle counters a login reads.
type LoginKeys struct {
	Pair, Address, Account []byte
}

// UserGetForLogin reads, in one statement, the user of login (any case),
// whether deviceHash (may be nil) is a live device token of that user, and
// the blocks of the counters keys names. An unknown login name is no error:
// its check has UserID uuid.Nil and its counters are read all the same.
func (q *Q) UserGetForLogin(ctx context.Context, login string, deviceHash []byte, keys LoginKeys, now time.Time) (LoginCheck, error) {
	row, err := q.q.UserGetForLogin(ctx, q.db, dbsqlc.UserGetForLoginParams{
		Login: login, DeviceHash: deviceHash, Now: now,
		PairKey: keys.Pair, AddressKey: keys.Address, AccountKey: keys.Account,
	})
	if err != nil {
		return LoginCheck{}, interpretError(err)
	}
	return LoginCheck{
		UserID: row.UserID.UUID, PasswordHash: row.PasswordHash.String, Disabled: row.Disabled, DeviceKnown: row.DeviceKnown,
		PairBlockedUntil: row.PairBlockedUntil, AddressBlockedUntil: row.AddressBlockedUntil, AccountBlockedUntil: row.AccountBlockedUntil,
	}, nil
}

// ThrottleRule is how a counter blocks: after MaxHits hits within Period,
// for Delay, doubled at every further hit up to MaxDelay; the counter is
// forgotten one Period after its start, or after its block ends.
type ThrottleRule struct {
	MaxHits  int
	Period   time.Duration
	Delay    time.Duration
	MaxDelay time.Duration
}

// ThrottleHit is one counter to count: its key, the hash of the login name
// it is about (nil for a client address or an e-mail address), its rule.
type ThrottleHit struct {
	Key, Subject []byte
	Rule         ThrottleRule
}

// ThrottleCounterHit counts one hit on every counter of hits, in one
// statement. With always false (a rate limit), nothing is counted while any
// of them is blocked, and the answer says whether every hit was counted;
// with always true (a failed login, which has already happened) every hit
// is counted. blockedUntil is the latest block that was in force before.
func (q *Q) ThrottleCounterHit(ctx context.Context, hits []ThrottleHit, always bool, now time.Time) (counted bool, blockedUntil time.Time, err error) {
	p := dbsqlc.ThrottleCounterHitParams{Now: now, Always: always}
	for _, h := range hits {
		p.Keys = append(p.Keys, h.Key)
		p.Subjects = append(p.Subjects, h.Subject)
		p.MaxHits = append(p.MaxHits, int32(h.Rule.MaxHits))
		p.Periods = append(p.Periods, interval(h.Rule.Period))
		p.Delays = append(p.Delays, interval(h.Rule.Delay))
		p.MaxDelays = append(p.MaxDelays, interval(h.Rule.MaxDelay))
	}
	row, err := q.q.ThrottleCounterHit(ctx, q.db, p)
	if err != nil {
		return false, time.Time{}, interpretError(err)
	}
	return row.Counted == int64(len(hits)), row.BlockedUntil, nil
}

// ThrottleCounterBlocked returns the latest block among the counters of
// keys, or now when none is blocked.
func (q *Q) ThrottleCounterBlocked(ctx context.Context, keys [][]byte, now time.Time) (time.Time, error) {
	t, err := q.q.ThrottleCounterBlocked(ctx, q.db, dbsqlc.ThrottleCounterBlockedParams{Keys: keys, Now: now})
	return t, interpretError(err)
}

// ThrottleCounterDeleteBySubjects forgets every counter about these login
// names' hashes.
func (q *Q) ThrottleCounterDeleteBySubjects(ctx context.Context, subjects [][]byte) error {
	return interpretError(q.q.ThrottleCounterDeleteBySubjects(ctx, q.db, subjects))
}

// ThrottleCounterDeleteExpired deletes up to max counters forgotten before
// before, and returns how many it deleted.
func (q *Q) ThrottleCounterDeleteExpired(ctx context.Context, before time.Time, max int32) (int64, error) {
	n, err := q.q.ThrottleCounterDeleteExpired(ctx, q.db, dbsqlc.ThrottleCounterDeleteExpiredParams{Before: before, MaxRows: max})
	return n, interpretError(err)
}

// PasswordResetCreate stores a reset token for the enabled user whose
// e-mail address is email (any case), superseding the user's unused ones,
// and returns the user's id and stored address. ErrNotFound when no enabled
// user has that address (nothing is written).
func (q *Q) PasswordResetCreate(ctx context.Context, email string, hash []byte, now, expiresAt time.Time) (uuid.UUID, string, error) {
	row, err := q.q.PasswordResetCreate(ctx, q.db, dbsqlc.PasswordResetCreateParams{Email: email, Hash: hash, Now: now, ExpiresAt: expiresAt})
	if err != nil {
		return uuid.Nil, "", interpretError(err)
	}
	return row.ID, row.Email, nil
}

// PasswordResetGetUser returns the enabled user of a live reset token, or
// ErrNotFound.
func (q *Q) PasswordResetGetUser(ctx context.Context, hash []byte, now time.Time) (User, error) {
	return userResult(q.q.PasswordResetGetUser(ctx, q.db, dbsqlc.PasswordResetGetUserParams{Hash: hash, Now: now}))
}

// PasswordResetUse spends a live reset token and the user's other unused
// ones, sets the password hash and marks the address verified, and returns
// the user. ErrNotFound when the token is not live or its user is disabled.
func (q *Q) PasswordResetUse(ctx context.Context, hash []byte, passwordHash string, now time.Time) (User, error) {
	return userResult(q.q.PasswordResetUse(ctx, q.db, dbsqlc.PasswordResetUseParams{Hash: hash, PasswordHash: passwordHash, Now: now}))
}

// PasswordResetDeleteExpired deletes up to max reset tokens that expired
// before before, and returns how many it deleted.
func (q *Q) PasswordResetDeleteExpired(ctx context.Context, before time.Time, max int32) (int64, error) {
	n, err := q.q.PasswordResetDeleteExpired(ctx, q.db, dbsqlc.PasswordResetDeleteExpiredParams{Before: before, MaxRows: max})
	return n, interpretError(err)
}

// DeviceTokenDeleteByUser forgets every device of a user.
func (q *Q) DeviceTokenDeleteByUser(ctx context.Context, userID uuid.UUID) error {
	return interpretError(q.q.DeviceTokenDeleteByUser(ctx, q.db, userID))
}

// DeviceTokenDeleteExpired deletes up to max device tokens that expired
// before before, and returns how many it deleted.
func (q *Q) DeviceTokenDeleteExpired(ctx context.Context, before time.Time, max int32) (int64, error) {
	n, err := q.q.DeviceTokenDeleteExpired(ctx, q.db, dbsqlc.DeviceTokenDeleteExpiredParams{Before: before, MaxRows: max})
	return n, interpretError(err)
}

// UserListUnverifiedExpired returns up to max accounts still unverified
// past their deadline (before).
func (q *Q) UserListUnverifiedExpired(ctx context.Context, before time.Time, max int32) ([]uuid.UUID, error) {
	ids, err := q.q.UserListUnverifiedExpired(ctx, q.db, dbsqlc.UserListUnverifiedExpiredParams{Before: timestamptz(&before), MaxRows: max})
	return ids, interpretError(err)
}

// UserDeleteUnverified deletes an account only while it is still
// unverified past its deadline, and reports whether it did.
func (q *Q) UserDeleteUnverified(ctx context.Context, id uuid.UUID, before time.Time) (bool, error) {
	n, err := q.q.UserDeleteUnverified(ctx, q.db, dbsqlc.UserDeleteUnverifiedParams{ID: id, Before: timestamptz(&before)})
	return n == 1, interpretError(err)
}
