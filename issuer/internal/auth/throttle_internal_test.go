package auth

import (
	"bytes"
	"fmt"
	"net/netip"
	"testing"
	"time"
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

// auditedBlocks: the first refusal of a block is fresh, the next ones of
// the same block are not, a new block of the same counter (a new end) is;
// at maxAuditedBlocks live blocks a new one is not audited, and once
// blocks have ended they are forgotten at the next pass, at most a minute
// after the last.
func TestAuditedBlocks(t *testing.T) {
	t.Parallel()
	var a auditedBlocks
	now := time.Date(2026, 12, 7, 9, 0, 0, 0, time.UTC)
	pair := block{rule: RuleLoginPair, key: []byte("k"), until: now.Add(time.Minute)}
	if !a.first([]block{pair}, now) {
		t.Fatal("the first refusal of a block is not fresh")
	}
	if a.first([]block{pair}, now.Add(time.Second)) {
		t.Fatal("a second refusal of the same block is fresh")
	}
	doubled := pair
	doubled.until = now.Add(3 * time.Minute)
	if !a.first([]block{pair, doubled}, now.Add(2*time.Second)) {
		t.Fatal("a new block of the same counter is not fresh")
	}
	if a.first(nil, now) {
		t.Fatal("no block is fresh")
	}

	for i := len(a.seen); i < maxAuditedBlocks; i++ {
		a.seen[fmt.Sprint(i)] = now.Add(10 * time.Minute)
	}
	other := block{rule: RuleLoginAddress, key: []byte("other"), until: now.Add(20 * time.Minute)}
	if a.first([]block{other}, now.Add(3*time.Second)) {
		t.Fatal("a block past maxAuditedBlocks live ones is audited")
	}
	if !a.first([]block{other}, now.Add(11*time.Minute)) {
		t.Fatal("ended blocks were not forgotten")
	}
	if len(a.seen) != 1 {
		t.Fatalf("%d blocks remembered after the pass, want 1", len(a.seen))
	}
}
