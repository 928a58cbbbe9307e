package command

// SetDrainEnd makes serve's drain end when ch closes, or at
// SHUTDOWN_DRAIN_DELAY if that comes first.
func SetDrainEnd(env *Env, ch <-chan struct{}) { env.drainEnd = ch }
