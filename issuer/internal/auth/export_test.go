package auth

import "context"

// SetAfterVerifyFunc makes Login call f between the password check and its
// write: tests run a concurrent change there.
func SetAfterVerifyFunc(s *Service, f func(context.Context)) { s.afterVerifyFunc = f }

// SetBeforeChangeWriteFunc makes ChangePassword call f between the password
// check and its write.
func SetBeforeChangeWriteFunc(s *Service, f func(context.Context)) { s.beforeChangeWriteFunc = f }

// HoldPasswordHashSlots takes every password hashing slot of s until
// release is called.
func HoldPasswordHashSlots(s *Service) (release func()) {
	for range cap(s.hashSlots) {
		s.hashSlots <- struct{}{}
	}
	return func() {
		for range cap(s.hashSlots) {
			<-s.hashSlots
		}
	}
}

// SetEvents sets s's Events option.
func SetEvents(s *Service, e Events) { s.events = e }
