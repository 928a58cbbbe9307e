package mail

import (
	"context"
	"net"
)

// DialingTo returns m connecting to addr whatever its URL's host is, so a
// test can name a host that is not loopback.
func DialingTo(m SMTPMailer, addr string) SMTPMailer {
	m.dialFunc = func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, addr)
	}
	return m
}
