package auth

import "context"

// SetAfterVerifyFunc makes Login call f between the password check and its
// write: tests run a concurrent change there.
func SetAfterVerifyFunc(s *Service, f func(context.Context)) { s.afterVerifyFunc = f }
