package api_test

import (
	"fmt"
	"net/http"
	"net/netip"
	"strconv"
	"testing"
	"time"

	"github.com/medinsights/auth/issuer/internal/auth"
	"github.com/medinsights/auth/issuer/internal/issuertest"
)

// The throttle tests run the issuer behind a trusted proxy, as Kong is in
// production: the test client connects from loopback, which is trusted,
// and names the client in X-Forwarded-For, so one test drives many client
// addresses (documentation ranges only: RFC 5737).
var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}

func throttledIssuer(t *testing.T, o issuertest.Options) *issuertest.Issuer {
	t.Helper()
	o.TrustedProxies = loopback
	is := issuertest.New(t, o)
	is.Register(t, "alice", password)
	return is
}

// postFrom posts body as the client at addr, through the trusted proxy
// (which appends the address it saw, as Kong does, after whatever the
// client sent itself).
func postFrom(t *testing.T, is *issuertest.Issuer, addr, path string, body any, token string) resp {
	t.Helper()
	return is.Do(t, req{Method: http.MethodPost, Path: path, Body: body, Token: token,
		Header: http.Header{"X-Forwarded-For": {"203.0.113.250, " + addr}}})
}

func loginFrom(t *testing.T, is *issuertest.Issuer, addr, name, pw string) resp {
	t.Helper()
	return postFrom(t, is, addr, "/api/auth/login/", map[string]string{"username": name, "password": pw}, "")
}

// wantThrottled fails t unless r is 429 too_many_attempts asking to retry
// after retry.
func wantThrottled(t *testing.T, r resp, retry time.Duration) {
	t.Helper()
	wantProblem(t, r, http.StatusTooManyRequests, "too_many_attempts")
	if got := r.Header.Get("Retry-After"); got != strconv.Itoa(int(retry.Seconds())) {
		t.Fatalf("Retry-After %q, want %d", got, int(retry.Seconds()))
	}
}

// hashesDuring returns how many argon2id computations f caused.
func hashesDuring(is *issuertest.Issuer, f func()) int64 {
	before := is.Hashes.Load()
	f()
	return is.Hashes.Load() - before
}

const wrongPassword = "not the password at all"

// Five failures for one name from one address block that pair for a
// minute, then two, four... up to 15 minutes; a throttled login, even with
// the right password, computes no hash; another address is not affected;
// a success resets the pair.
func TestLoginThrottlePerAccountAndAddress(t *testing.T) {
	t.Parallel()
	is := throttledIssuer(t, issuertest.Options{})
	const attacker, owner = "198.51.100.1", "198.51.100.2"
	for range 5 {
		wantProblem(t, loginFrom(t, is, attacker, "alice", wrongPassword), 401, "invalid_credentials")
	}
	if n := hashesDuring(is, func() { wantThrottled(t, loginFrom(t, is, attacker, "alice", password), time.Minute) }); n != 0 {
		t.Fatalf("a throttled login computed %d hashes, want 0", n)
	}
	wantStatus(t, loginFrom(t, is, owner, "alice", password), 200)

	// The delay doubles with every failure after a block, up to 15 minutes.
	for _, delay := range []time.Duration{2 * time.Minute, 4 * time.Minute, 8 * time.Minute, 15 * time.Minute, 15 * time.Minute} {
		is.Clock.Advance(time.Minute + delay)
		wantProblem(t, loginFrom(t, is, attacker, "alice", wrongPassword), 401, "invalid_credentials")
		wantThrottled(t, loginFrom(t, is, attacker, "alice", wrongPassword), delay)
	}
	is.Clock.Advance(15 * time.Minute)
	wantStatus(t, loginFrom(t, is, attacker, "alice", password), 200)
	// The success forgot the pair's counter: four failures block nothing.
	for range 4 {
		wantProblem(t, loginFrom(t, is, attacker, "alice", wrongPassword), 401, "invalid_credentials")
	}
	wantStatus(t, loginFrom(t, is, attacker, "alice", password), 200)
}

// A counter forgets on its own: failures spread wider than the window
// never block.
func TestLoginThrottleCountersExpire(t *testing.T) {
	t.Parallel()
	is := throttledIssuer(t, issuertest.Options{})
	for range 12 {
		wantProblem(t, loginFrom(t, is, "198.51.100.3", "alice", wrongPassword), 401, "invalid_credentials")
		is.Clock.Advance(4 * time.Minute) // at most 4 failures in any 15 minutes
	}
	wantStatus(t, loginFrom(t, is, "198.51.100.3", "alice", password), 200)
}

// An unknown login name is throttled exactly like a known one: the same
// answers, statuses and Retry-After, request for request.
func TestLoginThrottleTreatsUnknownAccountsLikeKnownOnes(t *testing.T) {
	t.Parallel()
	is := throttledIssuer(t, issuertest.Options{})
	var answers [2][]string
	for i, name := range []string{"alice", "nobody-here"} {
		for range 8 {
			r := loginFrom(t, is, "198.51.100.4", name, wrongPassword)
			answers[i] = append(answers[i], fmt.Sprintf("%d %v %s", r.Status, r.JSON["code"], r.Header.Get("Retry-After")))
		}
	}
	if fmt.Sprint(answers[0]) != fmt.Sprint(answers[1]) {
		t.Fatalf("known account: %v\nunknown account: %v", answers[0], answers[1])
	}
	if answers[1][5] != "429 too_many_attempts 60" {
		t.Fatalf("the sixth attempt on an unknown account got %q, want a 429", answers[1][5])
	}
}

// Fifty failures from one address, on any names, throttle every login from
// that address (password spraying), and only from it.
func TestLoginThrottlePerAddress(t *testing.T) {
	t.Parallel()
	is := throttledIssuer(t, issuertest.Options{})
	const sprayer = "203.0.113.9"
	for i := range auth.DefaultThrottle.LoginAddress.MaxHits {
		wantProblem(t, loginFrom(t, is, sprayer, fmt.Sprintf("user%d", i), wrongPassword), 401, "invalid_credentials")
	}
	if n := hashesDuring(is, func() { wantThrottled(t, loginFrom(t, is, sprayer, "alice", password), 15*time.Minute) }); n != 0 {
		t.Fatalf("a throttled login computed %d hashes", n)
	}
	wantStatus(t, loginFrom(t, is, "203.0.113.10", "alice", password), 200)
	is.Clock.Advance(15 * time.Minute)
	wantStatus(t, loginFrom(t, is, sprayer, "alice", password), 200)
}

// A distributed attack, one failure from each of fifty addresses, throttles
// the account for every client without a device token of it, so the
// attacker stops, and the owner on a device used before still logs in.
func TestOwnerOnAKnownDeviceLogsInDuringAnAccountWideAttack(t *testing.T) {
	t.Parallel()
	is := throttledIssuer(t, issuertest.Options{})
	first := loginFrom(t, is, "198.51.100.20", "alice", password)
	wantStatus(t, first, 200)
	device, _ := first.JSON["device_token"].(string)
	if len(device) < 40 {
		t.Fatalf("login returned device_token %q", device)
	}
	for i := range auth.DefaultThrottle.LoginAccount.MaxHits {
		wantProblem(t, loginFrom(t, is, fmt.Sprintf("192.0.2.%d", i+1), "alice", wrongPassword), 401, "invalid_credentials")
	}
	// A new device, even with the password, from an address never seen.
	if n := hashesDuring(is, func() { wantThrottled(t, loginFrom(t, is, "198.51.100.21", "alice", password), time.Hour) }); n != 0 {
		t.Fatalf("a throttled login computed %d hashes", n)
	}
	// A made-up device token, or another user's, does not help.
	is.Register(t, "bob", password)
	bobDevice := loginFrom(t, is, "198.51.100.22", "bob", password).JSON["device_token"]
	for _, d := range []any{"made-up-device-token", bobDevice} {
		r := postFrom(t, is, "192.0.2.200", "/api/auth/login/", map[string]any{"username": "alice", "password": password, "device_token": d}, "")
		wantThrottled(t, r, time.Hour)
	}
	// The owner's device, from yet another address, gets in, and keeps its token.
	r := postFrom(t, is, "198.51.100.23", "/api/auth/login/", map[string]any{"username": "alice", "password": password, "device_token": device}, "")
	wantStatus(t, r, 200)
	if r.JSON["device_token"] != device {
		t.Fatalf("device_token %v, want the one presented", r.JSON["device_token"])
	}
	// On a known device the password is still checked, and still counted.
	r = postFrom(t, is, "198.51.100.23", "/api/auth/login/", map[string]any{"username": "alice", "password": wrongPassword, "device_token": device}, "")
	wantProblem(t, r, 401, "invalid_credentials")
}

// A wrong current password at change-password counts as a failed login of
// the account: a stolen access token is no unlimited guessing oracle.
func TestChangePasswordFailuresCountAsFailedLogins(t *testing.T) {
	t.Parallel()
	is := throttledIssuer(t, issuertest.Options{})
	const thief = "198.51.100.30"
	tok := is.Login(t, "alice", password)
	change := func(current string) resp {
		return postFrom(t, is, thief, "/api/auth/change-password/", map[string]string{"current_password": current, "new_password": "a brand new passphrase"}, tok.Access)
	}
	for range 5 {
		wantProblem(t, change(wrongPassword), 400, "validation_failed")
	}
	if n := hashesDuring(is, func() { wantThrottled(t, change(password), time.Minute) }); n != 0 {
		t.Fatalf("a throttled change computed %d hashes", n)
	}
	wantThrottled(t, loginFrom(t, is, thief, "alice", password), time.Minute)
}

// Verification resends are limited per address, to one a minute and five
// a day.
func TestResendVerificationIsLimitedPerAddress(t *testing.T) {
	t.Parallel()
	is := throttledIssuer(t, issuertest.Options{})
	tok := is.Login(t, "alice", password)
	resend := func() resp { return is.Post(t, "/api/auth/verify-email/resend/", nil, tok.Access) }
	wantStatus(t, resend(), 202)
	wantThrottled(t, resend(), time.Minute)
	for range 4 {
		is.Clock.Advance(time.Minute)
		wantStatus(t, resend(), 202)
	}
	is.Clock.Advance(time.Minute)
	r := resend()
	wantProblem(t, r, 429, "too_many_attempts")
	if ra, _ := strconv.Atoi(r.Header.Get("Retry-After")); ra < int((23 * time.Hour).Seconds()) {
		t.Fatalf("Retry-After %d s after the fifth mail of the day, want about a day", ra)
	}
	if n := is.Mailer.Count("alice@example.org"); n != 6 { // registration's and five resends
		t.Fatalf("%d verification mails, want 6", n)
	}
}

// Ten registrations an hour per client address.
func TestRegistrationsAreLimitedPerAddress(t *testing.T) {
	t.Parallel()
	is := issuertest.New(t, issuertest.Options{TrustedProxies: loopback})
	register := func(addr string, i int) resp {
		name := fmt.Sprintf("user%d", i)
		return postFrom(t, is, addr, "/api/auth/register/", map[string]string{"username": name, "email": name + "@example.org", "password": password}, "")
	}
	for i := range 10 {
		wantStatus(t, register("192.0.2.77", i), 201)
	}
	if n := hashesDuring(is, func() { wantThrottled(t, register("192.0.2.77", 10), time.Hour) }); n != 0 {
		t.Fatalf("a throttled registration computed %d hashes", n)
	}
	wantStatus(t, register("192.0.2.78", 10), 201)
}

// THROTTLE_ENABLED=false: nothing is counted or refused.
func TestThrottleOff(t *testing.T) {
	t.Parallel()
	is := throttledIssuer(t, issuertest.Options{NoThrottle: true})
	for range 8 {
		wantProblem(t, loginFrom(t, is, "198.51.100.40", "alice", wrongPassword), 401, "invalid_credentials")
	}
	wantStatus(t, loginFrom(t, is, "198.51.100.40", "alice", password), 200)
	var n int
	if err := queryRow(t, is, "SELECT count(*) FROM throttle_counters", &n); err != nil || n != 0 {
		t.Fatalf("%d throttle counters (%v), want none", n, err)
	}
}

// Without a trusted proxy, X-Forwarded-For is the client's own claim and
// is ignored: a client cannot escape its pair's throttle by inventing
// addresses.
func TestForwardedForIsIgnoredFromAnUntrustedPeer(t *testing.T) {
	t.Parallel()
	is := setup(t) // no trusted proxy
	for i := range 5 {
		wantProblem(t, loginFrom(t, is, fmt.Sprintf("192.0.2.%d", i+1), "alice", wrongPassword), 401, "invalid_credentials")
	}
	wantThrottled(t, loginFrom(t, is, "192.0.2.99", "alice", password), time.Minute)
}
