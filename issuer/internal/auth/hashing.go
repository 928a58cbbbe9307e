package auth

import (
	"context"
	"fmt"
	"time"
)

// passwordHashWaitDefault is how long a request waits for a hashing slot.
const passwordHashWaitDefault = 2 * time.Second

// acquireHashSlot waits for one of the PasswordHashConcurrency slots, so a
// burst of logins cannot hold more argon2id memory at once than the process
// has: past PasswordHashWait, or when ctx ends, it gives up.
func (s *Service) acquireHashSlot(ctx context.Context) (release func(), err error) {
	select {
	case s.hashSlots <- struct{}{}:
		return s.hashing(), nil
	default:
	}
	t := time.NewTimer(s.opt.PasswordHashWait)
	defer t.Stop()
	select {
	case s.hashSlots <- struct{}{}:
		return s.hashing(), nil
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: %w", ErrOverloaded, ctx.Err())
	case <-t.C:
		return nil, ErrOverloaded
	}
}

// hashing reports the argon2id computation a slot was just taken for, and
// returns the slot's release.
func (s *Service) hashing() (release func()) {
	s.events.PasswordHashed()
	return func() { <-s.hashSlots }
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

// verifyPassword is VerifyPassword in a hashing slot; a legacy Django hash
// takes one like any other. UnusablePassword (a user without a usable
// password, or an unknown user) costs one argon2id of the dummy hash and
// never matches, so both fail exactly as a wrong password does.
func (s *Service) verifyPassword(ctx context.Context, phc, password string) (ok, rehash bool, err error) {
	release, err := s.acquireHashSlot(ctx)
	if err != nil {
		return false, false, err
	}
	defer release()
	if phc == UnusablePassword {
		_, _, err := VerifyPassword(s.opt.Password, s.dummyHash, password)
		return false, false, err
	}
	return VerifyPassword(s.opt.Password, phc, password)
}
