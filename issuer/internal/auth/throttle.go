package auth

import (
	"context"
	"crypto/sha256"
	"fmt"
	"maps"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/medinsights/auth/issuer/internal/store"
)

// Throttle says how hard the issuer makes password guessing and mail
// bombing (docs/throttling.md). Every counter lives in PostgreSQL, shared by
// every replica, and is read before any password hash is computed. The zero
// value switches throttling off.
type Throttle struct {
	Enabled bool
	// LoginPair counts failed logins of one login name from one client
	// address; LoginAddress, from one address for any names (password
	// spraying); LoginAccount, for one name from anywhere, and spares a
	// client that presents a device token of the account.
	LoginPair, LoginAddress, LoginAccount store.ThrottleRule
	// MailPerMinute and MailPerDay count mails (verification resends,
	// password resets) to one e-mail address.
	MailPerMinute, MailPerDay store.ThrottleRule
	// Registration counts registrations from one client address.
	Registration store.ThrottleRule
}

// DefaultThrottle is the throttle of issue 9: 5 failures per name and
// address in 15 minutes (then 1 minute, doubling up to 15), 50 per address
// in 15 minutes, 50 per name in an hour, 1 mail a minute and 5 a day per
// address, 10 registrations an hour per address.
var DefaultThrottle = Throttle{
	Enabled:       true,
	LoginPair:     store.ThrottleRule{MaxHits: 5, Period: 15 * time.Minute, Delay: time.Minute, MaxDelay: 15 * time.Minute},
	LoginAddress:  BlockForPeriod(50, 15*time.Minute),
	LoginAccount:  BlockForPeriod(50, time.Hour),
	MailPerMinute: BlockForPeriod(1, time.Minute),
	MailPerDay:    BlockForPeriod(5, 24*time.Hour),
	Registration:  BlockForPeriod(10, time.Hour),
}

// BlockForPeriod is a rule that, once maxHits is reached within period,
// blocks for one period at a time.
func BlockForPeriod(maxHits int, period time.Duration) store.ThrottleRule {
	return store.ThrottleRule{MaxHits: maxHits, Period: period, Delay: period, MaxDelay: period}
}

// Throttle rules, as counted in the metrics.
const (
	RuleLoginPair     = "login_pair"
	RuleLoginAddress  = "login_address"
	RuleLoginAccount  = "login_account"
	RuleMailPerMinute = "mail_per_minute"
	RuleMailPerDay    = "mail_per_day"
	RuleRegistration  = "registration"
	// RulePasswordCheck is the login rules applied to the current password
	// of a password change.
	RulePasswordCheck = "password_check"
)

// Throttle decisions, as counted in the metrics.
const (
	DecisionAllowed  = "allowed"
	DecisionRefused  = "refused"
	DecisionBypassed = "bypassed" // the account-wide rule, for a known device
)

// ThrottledError refuses a request a throttle blocks; RetryAfter is when
// the block ends. It never says which rule refused.
type ThrottledError struct {
	RetryAfter time.Duration
}

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("too many attempts: retry after %s", e.RetryAfter)
}

// throttled returns a ThrottledError when until is after now.
func throttled(until, now time.Time) error {
	if !until.After(now) {
		return nil
	}
	return &ThrottledError{RetryAfter: until.Sub(now)}
}

// counterKey is the SHA-256 of a rule and its subject's parts: the key of
// a counter. Hashing keeps what people type as a login name (sometimes
// their password) out of the table.
func counterKey(rule string, parts ...string) []byte {
	h := sha256.New()
	h.Write([]byte(rule))
	for _, p := range parts {
		h.Write([]byte{0})
		h.Write([]byte(p))
	}
	return h.Sum(nil)
}

// loginName is a login name as counters know it: lower-cased, as logins
// compare them.
func loginName(login string) string { return strings.ToLower(login) }

// nameSubject is the hash a counter about a login name carries, so a
// password reset can clear them.
func nameSubject(name string) []byte { return counterKey("name", loginName(name)) }

// addressKey is the part of a client address a counter is about: the
// address itself for IPv4, its /64 for IPv6, since one IPv6 client
// usually holds a whole /64.
func addressKey(a netip.Addr) string {
	a = a.Unmap()
	if !a.IsValid() {
		return "unknown"
	}
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

// loginCounters are the counters of a login (or a password check) of one
// name from one client address.
type loginCounters struct {
	pair, address, account store.ThrottleHit
}

func (s *Service) loginCounters(name string, client netip.Addr) loginCounters {
	t, n, a := s.opt.Throttle, loginName(name), addressKey(client)
	subject := nameSubject(n)
	return loginCounters{
		pair:    store.ThrottleHit{Key: counterKey(RuleLoginPair, n, a), Subject: subject, Rule: t.LoginPair},
		address: store.ThrottleHit{Key: counterKey(RuleLoginAddress, a), Rule: t.LoginAddress},
		account: store.ThrottleHit{Key: counterKey(RuleLoginAccount, n), Subject: subject, Rule: t.LoginAccount},
	}
}

// keys are the counters' keys for the login's check, all nil with
// throttling off (then nothing is ever blocked).
func (c loginCounters) keys(enabled bool) store.LoginKeys {
	if !enabled {
		return store.LoginKeys{}
	}
	return store.LoginKeys{Pair: c.pair.Key, Address: c.address.Key, Account: c.account.Key}
}

// checkLogin decides a login's throttle from its check, counting each
// rule's decision: the account-wide rule is skipped for a known device. It
// returns the blocks that refuse the login, with the ThrottledError.
func (s *Service) checkLogin(c store.LoginCheck, counters loginCounters, now time.Time) ([]block, error) {
	if !s.opt.Throttle.Enabled {
		return nil, nil
	}
	until := now
	var refused []block
	decide := func(rule string, key []byte, blocked time.Time, bypass bool) {
		switch {
		case !blocked.After(now):
			s.decision(rule, DecisionAllowed)
		case bypass:
			s.decision(rule, DecisionBypassed)
		default:
			s.decision(rule, DecisionRefused)
			until = later(until, blocked)
			refused = append(refused, block{rule: rule, key: key, until: blocked})
		}
	}
	decide(RuleLoginPair, counters.pair.Key, c.PairBlockedUntil, false)
	decide(RuleLoginAddress, counters.address.Key, c.AddressBlockedUntil, false)
	decide(RuleLoginAccount, counters.account.Key, c.AccountBlockedUntil, c.DeviceKnown)
	return refused, throttled(until, now)
}

// block is one counter's block: its rule, its key and when it ends.
type block struct {
	rule  string
	key   []byte
	until time.Time
}

// maxAuditedBlocks bounds the blocks a replica remembers having audited.
const maxAuditedBlocks = 1 << 16

// auditedBlocks remembers, on this replica, the blocks whose refusal it has
// audited, until each ends: a throttled login is audited on the first
// refusal of each block (a doubled delay is a new block), not on every one,
// so a flood of refused guesses, cheap to answer, cannot make every login
// wait on the audit chain's lock. Metrics count every refusal. Ended blocks
// are forgotten at most once a minute (one pass over the map); past
// maxAuditedBlocks live blocks, new ones are not audited.
type auditedBlocks struct {
	mu      sync.Mutex
	seen    map[string]time.Time // rule and key -> the block's end
	pruneAt time.Time
}

// first reports whether any of refused is a block not audited yet, and
// remembers them all.
func (a *auditedBlocks) first(refused []block, now time.Time) bool {
	if len(refused) == 0 {
		return false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.seen == nil {
		a.seen = map[string]time.Time{}
	}
	if !now.Before(a.pruneAt) {
		maps.DeleteFunc(a.seen, func(_ string, until time.Time) bool { return !until.After(now) })
		a.pruneAt = now.Add(time.Minute)
	}
	fresh := false
	for _, b := range refused {
		k := b.rule + "\x00" + string(b.key)
		if until, ok := a.seen[k]; ok && until.Equal(b.until) {
			continue
		}
		if len(a.seen) >= maxAuditedBlocks {
			continue
		}
		a.seen[k] = b.until
		fresh = true
	}
	return fresh
}

// loginFailed counts a failed password check on the login's counters.
func (s *Service) loginFailed(ctx context.Context, c loginCounters, now time.Time) error {
	if !s.opt.Throttle.Enabled {
		return nil
	}
	if _, _, err := s.opt.Store.ThrottleCounterHit(ctx, []store.ThrottleHit{c.pair, c.address, c.account}, true, now); err != nil {
		return fmt.Errorf("count failed login: %w", err)
	}
	return nil
}

// checkPassword is the throttle of a password check outside a login (the
// current password of a password change): the login's three rules for the
// user's username, the account-wide one included.
func (s *Service) checkPassword(ctx context.Context, c loginCounters, now time.Time) error {
	if !s.opt.Throttle.Enabled {
		return nil
	}
	until, err := s.opt.Store.ThrottleCounterBlocked(ctx, [][]byte{c.pair.Key, c.address.Key, c.account.Key}, now)
	if err != nil {
		return fmt.Errorf("read throttle: %w", err)
	}
	return s.decide(RulePasswordCheck, throttled(until, now))
}

// allowMail counts a mail to address against the mail rules, unless one of
// them blocks it: then nothing is counted and the error says until when.
func (s *Service) allowMail(ctx context.Context, address string, now time.Time) error {
	if !s.opt.Throttle.Enabled {
		return nil
	}
	a, t := strings.ToLower(address), s.opt.Throttle
	return s.rateLimit(ctx, RuleMailPerMinute, now,
		store.ThrottleHit{Key: counterKey(RuleMailPerMinute, a), Rule: t.MailPerMinute},
		store.ThrottleHit{Key: counterKey(RuleMailPerDay, a), Rule: t.MailPerDay})
}

// allowRegistration counts a registration from client, unless blocked.
func (s *Service) allowRegistration(ctx context.Context, client netip.Addr, now time.Time) error {
	if !s.opt.Throttle.Enabled {
		return nil
	}
	return s.rateLimit(ctx, RuleRegistration, now,
		store.ThrottleHit{Key: counterKey(RuleRegistration, addressKey(client)), Rule: s.opt.Throttle.Registration})
}

// rateLimit counts hits unless one is blocked, and counts the decision
// under rule.
func (s *Service) rateLimit(ctx context.Context, rule string, now time.Time, hits ...store.ThrottleHit) error {
	counted, until, err := s.opt.Store.ThrottleCounterHit(ctx, hits, false, now)
	if err != nil {
		return fmt.Errorf("count %s: %w", rule, err)
	}
	if counted {
		return s.decide(rule, nil)
	}
	retry := until.Sub(now)
	if retry <= 0 {
		// No block was in force, yet a hit was not counted: a concurrent
		// hit blocked its counter meanwhile. Ask again after one delay.
		retry = hits[0].Rule.Delay
	}
	return s.decide(rule, &ThrottledError{RetryAfter: retry})
}

// decide counts err's decision (refused when it is a ThrottledError,
// allowed when nil) under rule and returns err.
func (s *Service) decide(rule string, err error) error {
	if err == nil {
		s.decision(rule, DecisionAllowed)
	} else {
		s.decision(rule, DecisionRefused)
	}
	return err
}

func (s *Service) decision(rule, decision string) {
	s.events.ThrottleDecision(rule, decision)
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
