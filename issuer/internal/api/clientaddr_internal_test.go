package api

import (
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
)

func TestClientAddr(t *testing.T) {
	t.Parallel()
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8:1::/48")}
	for _, c := range []struct {
		name    string
		trusted []netip.Prefix
		peer    string
		xff     []string
		want    string
	}{
		{name: "no trusted proxy: the peer, whatever it forwards", peer: "192.0.2.1:5000", xff: []string{"198.51.100.1"}, want: "192.0.2.1"},
		{name: "an untrusted peer's X-Forwarded-For is its own claim", trusted: proxies, peer: "192.0.2.1:5000", xff: []string{"198.51.100.1"}, want: "192.0.2.1"},
		{name: "a trusted proxy's right-most entry", trusted: proxies, peer: "10.1.2.3:5000", xff: []string{"203.0.113.7, 198.51.100.1"}, want: "198.51.100.1"},
		{name: "trusted hops are skipped", trusted: proxies, peer: "10.1.2.3:5000", xff: []string{"203.0.113.7, 198.51.100.1, 10.9.9.9"}, want: "198.51.100.1"},
		{name: "several headers are one list", trusted: proxies, peer: "10.1.2.3:5000", xff: []string{"203.0.113.7", "198.51.100.2"}, want: "198.51.100.2"},
		{name: "no header: the trusted peer", trusted: proxies, peer: "10.1.2.3:5000", want: "10.1.2.3"},
		{name: "garbage left of a trusted hop: the last trusted hop", trusted: proxies, peer: "10.1.2.3:5000", xff: []string{"not-an-ip, 10.4.4.4"}, want: "10.4.4.4"},
		{name: "the client's own garbage never hides it", trusted: proxies, peer: "10.1.2.3:5000", xff: []string{"nonsense, 198.51.100.3"}, want: "198.51.100.3"},
		{name: "an address with a port", trusted: proxies, peer: "10.1.2.3:5000", xff: []string{"198.51.100.4:443"}, want: "198.51.100.4"},
		{name: "IPv4-mapped IPv6 is IPv4", trusted: proxies, peer: "[::ffff:10.1.2.3]:5000", xff: []string{"::ffff:198.51.100.5"}, want: "198.51.100.5"},
		{name: "IPv6 through an IPv6 proxy", trusted: proxies, peer: "[2001:db8:1::9]:5000", xff: []string{"2001:db8:2::1"}, want: "2001:db8:2::1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s := &Server{trustedProxies: c.trusted}
			r := httptest.NewRequest(http.MethodPost, "/api/auth/login/", nil)
			r.RemoteAddr = c.peer
			for _, v := range c.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := s.clientAddr(r); got != netip.MustParseAddr(c.want) {
				t.Fatalf("client %s, want %s", got, c.want)
			}
		})
	}
}
