package identity

import (
	"errors"
	"net/http"
	"strings"

	"github.com/medinsights/auth/internal/grammar"
)

// errMissing: the request carries none of the identity headers.
var errMissing = errors.New("no identity")

// parseError names the header whose value the plugin would never send.
type parseError struct {
	header, reason, value string
}

func (e *parseError) Error() string { return e.header + ": " + e.reason }

// maxRoles bounds the roles read from one header; the issuer grants far
// fewer, and a longer list is not from the gateway.
const maxRoles = 64

// parse reads the identity headers. The plugin sets each header once with
// set_headers, so a repeated header is refused as well as a bad value.
func parse(h http.Header) (Identity, error) {
	ids, users, roles := h.Values(HeaderUserID), h.Values(HeaderUsername), h.Values(HeaderRoles)
	if len(ids) == 0 && len(users) == 0 && len(roles) == 0 {
		return Identity{}, errMissing
	}
	for _, hv := range []struct {
		name   string
		values []string
	}{{HeaderUserID, ids}, {HeaderUsername, users}, {HeaderRoles, roles}} {
		if len(hv.values) > 1 {
			return Identity{}, &parseError{hv.name, "sent more than once", strings.Join(hv.values, " | ")}
		}
	}
	var id Identity
	switch {
	case len(ids) == 0:
		return Identity{}, &parseError{HeaderUserID, "missing while other identity headers are present", ""}
	case !grammar.UUID(ids[0]):
		return Identity{}, &parseError{HeaderUserID, "not a UUID in canonical form", ids[0]}
	case len(users) == 0:
		return Identity{}, &parseError{HeaderUsername, "missing while other identity headers are present", ""}
	case !grammar.HeaderSafe(users[0]):
		return Identity{}, &parseError{HeaderUsername, "not header-safe text", users[0]}
	}
	id.UserID, id.Username = ids[0], users[0]
	if len(roles) == 1 {
		list := strings.Split(roles[0], ",")
		if len(list) > maxRoles {
			return Identity{}, &parseError{HeaderRoles, "more roles than the issuer grants", roles[0]}
		}
		for _, r := range list {
			if !grammar.Role(r) {
				return Identity{}, &parseError{HeaderRoles, "a role outside the issuer's role grammar", roles[0]}
			}
		}
		id.Roles = list
	}
	return id, nil
}

// logValueMax bounds a client-chosen value in a log line.
const logValueMax = 64

// clip cuts a value for the log line, marking the cut; slog quotes it, so a
// CR or LF in it cannot forge a line.
func clip(s string) string {
	if len(s) <= logValueMax {
		return s
	}
	return s[:logValueMax] + "..."
}
