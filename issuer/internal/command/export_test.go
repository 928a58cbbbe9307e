package command

import (
	"net"
	"net/http"
)

// SetDrainEnd makes serve's drain end when ch closes, or at
// SHUTDOWN_DRAIN_DELAY if that comes first.
func SetDrainEnd(env *Env, ch <-chan struct{}) { env.drainEnd = ch }

// SetConnState makes f the API server's http.Server.ConnState.
func SetConnState(env *Env, f func(net.Conn, http.ConnState)) { env.connState = f }

// CommandNames returns the name of every command, in usage order.
func CommandNames() []string {
	names := make([]string, len(commands))
	for i, c := range commands {
		names[i] = c.name
	}
	return names
}
