package api

import (
	"net/http"
	"net/netip"
	"strings"
)

// clientAddr is the address of the client a request comes from, for the
// throttles: the peer's address, unless the peer is a trusted proxy
// (TRUSTED_PROXIES): then the right-most X-Forwarded-For address that is
// not a trusted proxy. Every proxy appends the address it was reached
// from, so the addresses right of the client's were written by trusted
// proxies, and anything left of it may be the client's own invention. With
// no trusted proxy, X-Forwarded-For is never read.
func (s *Server) clientAddr(r *http.Request) netip.Addr {
	peer, err := netip.ParseAddrPort(r.RemoteAddr)
	if err != nil {
		return netip.Addr{}
	}
	addr := peer.Addr().Unmap()
	if !s.trustedProxy(addr) {
		return addr
	}
	var hops []string
	for _, v := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(v, ",")...)
	}
	for i := len(hops) - 1; i >= 0; i-- {
		hop, ok := parseHop(strings.TrimSpace(hops[i]))
		if !ok {
			// A trusted proxy writes addresses only: what cannot be read is
			// not from one, and the last trusted hop is the best known.
			return addr
		}
		if addr = hop; !s.trustedProxy(hop) {
			return hop
		}
	}
	return addr
}

// parseHop reads an X-Forwarded-For element: an address, or an address
// and port.
func parseHop(s string) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap(), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap(), true
	}
	return netip.Addr{}, false
}

func (s *Server) trustedProxy(a netip.Addr) bool {
	for _, p := range s.trustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
