package auth

import (
	"bytes"
	"net/netip"
	"testing"
)

// An IPv6 client is counted by its /64, which one client usually holds in
// full; an IPv4 client by its address.
func TestAddressKey(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ addr, want string }{
		{"192.0.2.1", "192.0.2.1"},
		{"::ffff:192.0.2.1", "192.0.2.1"},
		{"2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"},
		{"2001:db8:1:2::ffff", "2001:db8:1:2::/64"},
	} {
		if got := addressKey(netip.MustParseAddr(c.addr)); got != c.want {
			t.Errorf("addressKey(%s) = %s, want %s", c.addr, got, c.want)
		}
	}
	if got := addressKey(netip.Addr{}); got != "unknown" {
		t.Errorf("addressKey of no address = %s", got)
	}
}

// Counter keys never hold the login name itself, differ by rule and by
// part, and treat names case-insensitively, as logins do.
func TestCounterKeys(t *testing.T) {
	t.Parallel()
	s := &Service{opt: Options{Throttle: DefaultThrottle}}
	a := s.loginCounters("Alice", netip.MustParseAddr("192.0.2.1"))
	b := s.loginCounters("alice", netip.MustParseAddr("192.0.2.1"))
	c := s.loginCounters("alice", netip.MustParseAddr("192.0.2.2"))
	if !bytes.Equal(a.pair.Key, b.pair.Key) || !bytes.Equal(a.account.Key, c.account.Key) || bytes.Equal(a.pair.Key, c.pair.Key) ||
		bytes.Equal(a.pair.Key, a.account.Key) || bytes.Contains(a.pair.Key, []byte("alice")) || !bytes.Equal(a.pair.Subject, nameSubject("ALICE")) {
		t.Fatal("counter keys do not follow the name (any case), the address and the rule")
	}
	if a.address.Subject != nil {
		t.Fatal("an address counter is about no login name")
	}
}
