package api_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/medinsights/auth/internal/testsmtp"
	"github.com/medinsights/auth/issuer/internal/auth"
	"github.com/medinsights/auth/issuer/internal/issuertest"
	"github.com/medinsights/auth/issuer/internal/mail"
)

const (
	resetPath   = "/api/auth/password-reset/"
	confirmPath = "/api/auth/password-reset/confirm/"
	newPassword = "a brand new passphrase"
	resetURL    = "https://app.example.org/reset-password"
)

func requestReset(t *testing.T, is *issuertest.Issuer, email string) resp {
	t.Helper()
	return is.Post(t, resetPath, map[string]string{"email": email}, "")
}

func confirmReset(t *testing.T, is *issuertest.Issuer, token, pw string) resp {
	t.Helper()
	return is.Post(t, confirmPath, map[string]string{"token": token, "password": pw}, "")
}

// lastResetToken returns the token of the last reset mail to address.
func lastResetToken(t *testing.T, is *issuertest.Issuer, address string) string {
	t.Helper()
	sent := is.Mailer.Resets(address)
	if len(sent) == 0 {
		t.Fatalf("no reset mail to %s", address)
	}
	return sent[len(sent)-1].Token
}

// The whole flow over a real SMTP conversation: the issuer's SMTP mailer
// talks to an SMTP server on loopback. The mail carries a link, names no
// username; the confirmation sets the password, verifies the address, ends
// every session with revocation events and clears the login throttles.
func TestPasswordResetEndToEndOverSMTP(t *testing.T) {
	t.Parallel()
	smtpServer := testsmtp.Start(t)
	is := throttledIssuer(t, issuertest.Options{Mailer: mail.SMTPMailer{
		URL: &url.URL{Scheme: "smtp", Host: smtpServer.Addr}, From: "MedInsights <no-reply@example.org>", ResetURL: resetURL,
	}})
	<-smtpServer.Messages // alice's verification mail
	tok := is.Login(t, "alice", password)
	const blocked = "198.51.100.60"
	for range 5 {
		loginFrom(t, is, blocked, "alice", wrongPassword)
	}
	wantThrottled(t, loginFrom(t, is, blocked, "alice", password), time.Minute)

	r := requestReset(t, is, "ALICE@example.org")
	wantStatus(t, r, 202)
	if string(bytes.TrimSpace(r.Body)) != `{"status":"sent"}` {
		t.Fatalf("body %s", r.Body)
	}
	if o := is.WaitReset(t); o != auth.ResetSent {
		t.Fatalf("outcome %q, want sent", o)
	}
	msg := smtpServer.Next(t)
	if len(msg.To) != 1 || msg.To[0] != "alice@example.org" || msg.From != "no-reply@example.org" {
		t.Fatalf("envelope from %q to %q", msg.From, msg.To)
	}
	_, body, _ := strings.Cut(msg.Data, "\r\n\r\n")
	if !strings.Contains(msg.Data, "Subject: Reset your MedInsights password") || strings.Contains(strings.ToLower(body), "alice") {
		t.Fatalf("message:\n%s", msg.Data)
	}
	_, rest, ok := strings.Cut(body, resetURL+"?token=")
	if !ok {
		t.Fatalf("no link to %s in:\n%s", resetURL, body)
	}
	token, _, _ := strings.Cut(rest, "\r\n")
	if len(token) != 43 { // 256 bits, base64url
		t.Fatalf("token %q is not 256 bits in base64url", token)
	}
	var stored int
	if err := queryRow(t, is, "SELECT count(*) FROM password_resets WHERE hash = sha256($1::bytea)", &stored, []byte(token)); err != nil || stored != 1 {
		t.Fatalf("%d resets stored under the token's SHA-256 (%v), want 1", stored, err)
	}

	r = confirmReset(t, is, token, newPassword)
	wantStatus(t, r, 200)
	if u := r.JSON["user"].(map[string]any); u["username"] != "alice" || u["email_verified"] != true {
		t.Fatalf("user %v", u)
	}
	wantProblem(t, is.Get(t, "/api/auth/me/", tok.Access), 401, "invalid_token")
	wantProblem(t, is.Post(t, "/api/auth/refresh/", map[string]string{"refresh_token": tok.Refresh}, ""), 401, "invalid_grant")
	if ev := revocationEvents(t, is); len(ev) != 1 || ev[0].Reason != auth.ReasonPasswordReset {
		t.Fatalf("revocation events %+v, want one for the password reset", ev)
	}
	wantProblem(t, loginFrom(t, is, "198.51.100.61", "alice", password), 401, "invalid_credentials")
	wantStatus(t, loginFrom(t, is, blocked, "alice", newPassword), 200) // the throttle was cleared
	wantProblem(t, confirmReset(t, is, token, "yet another passphrase"), 400, "invalid_reset_token")
}

// Known, unknown and disabled addresses get the same answer, byte for
// byte; only the known, enabled one gets a mail, and a reset never enables
// a disabled account.
func TestPasswordResetAnswersEveryAddressAlike(t *testing.T) {
	t.Parallel()
	is := setup(t)
	is.Register(t, "carol", password)
	issuertest.Exec(t, is.DatabaseURL, "UPDATE users SET disabled_at = now() WHERE username = 'carol'")
	var answers []string
	for _, c := range []struct{ email, outcome string }{
		{"alice@example.org", auth.ResetSent},
		{"nobody@example.org", auth.ResetNoAccount},
		{"carol@example.org", auth.ResetNoAccount},
	} {
		r := requestReset(t, is, c.email)
		answers = append(answers, answerOf(r))
		if o := is.WaitReset(t); o != c.outcome {
			t.Fatalf("%s: outcome %q, want %q", c.email, o, c.outcome)
		}
	}
	if answers[0] != answers[1] || answers[0] != answers[2] {
		t.Fatalf("answers differ:\n%s", strings.Join(answers, "\n"))
	}
	if len(is.Mailer.Resets("carol@example.org")) != 0 || len(is.Mailer.Resets("nobody@example.org")) != 0 {
		t.Fatal("a reset mail went to a disabled or unknown address")
	}
	var disabled bool
	if err := queryRow(t, is, "SELECT disabled_at IS NOT NULL FROM users WHERE username = 'carol'", &disabled); err != nil || !disabled {
		t.Fatalf("carol disabled: %v %v", disabled, err)
	}
}

// answerOf is an answer without what differs per request (its id, date).
func answerOf(r resp) string {
	h := r.Header.Clone()
	h.Del("X-Request-Id")
	h.Del("Date")
	var b strings.Builder
	_ = h.Write(&b)
	return http.StatusText(r.Status) + "\n" + b.String() + string(r.Body)
}

// Used, expired, superseded and unknown tokens get the same 400; a refused
// new password leaves the token usable.
func TestPasswordResetTokenRefusals(t *testing.T) {
	t.Parallel()
	is := setup(t)
	reset := func() string {
		t.Helper()
		wantStatus(t, requestReset(t, is, "alice@example.org"), 202)
		if o := is.WaitReset(t); o != auth.ResetSent {
			t.Fatalf("outcome %q", o)
		}
		return lastResetToken(t, is, "alice@example.org")
	}
	superseded := reset()
	is.Clock.Advance(time.Minute) // past the mail limit of one a minute
	live := reset()
	wantProblem(t, confirmReset(t, is, live, "short"), 400, "validation_failed")
	wantProblem(t, confirmReset(t, is, live, "alice alice alice"), 400, "validation_failed")
	wantStatus(t, confirmReset(t, is, live, newPassword), 200)
	is.Clock.Advance(time.Minute)
	expired := reset()
	is.Clock.Advance(auth.PasswordResetLifetimeDefault)

	var bodies []string
	for _, token := range []string{live, expired, superseded, "no-such-token"} {
		r := confirmReset(t, is, token, "yet another passphrase")
		wantProblem(t, r, 400, "invalid_reset_token")
		bodies = append(bodies, string(r.Body))
	}
	for _, b := range bodies[1:] {
		if b != bodies[0] {
			t.Fatalf("refusals differ:\n%s", strings.Join(bodies, "\n"))
		}
	}
	wantStatus(t, is.Post(t, "/api/auth/login/", map[string]string{"username": "alice", "password": newPassword}, ""), 200)
}

// The reset endpoints refuse bad bodies the way every endpoint does.
func TestPasswordResetBadInput(t *testing.T) {
	t.Parallel()
	is := setup(t)
	wantProblem(t, is.Post(t, resetPath, map[string]string{"email": "not an address"}, ""), 400, "validation_failed")
	wantProblem(t, is.Post(t, resetPath, map[string]string{"email": "alice@example.org", "username": "alice"}, ""), 400, "validation_failed")
	wantProblem(t, is.Do(t, req{Method: http.MethodPost, Path: resetPath, Body: "email=a", ContentType: "text/plain"}), 415, "unsupported_media_type")
	wantProblem(t, is.Post(t, confirmPath, map[string]string{"token": "x"}, ""), 400, "validation_failed")
	wantProblem(t, is.Post(t, confirmPath, strings.Repeat("x", 70<<10), ""), 413, "request_too_large")
	wantProblem(t, is.Get(t, confirmPath, ""), 405, "method_not_allowed")
}

// Reset mail is limited per address like any mail, silently: the answer
// stays 202 and no mail goes out.
func TestPasswordResetMailLimit(t *testing.T) {
	t.Parallel()
	is := setup(t)
	for _, want := range []string{auth.ResetSent, auth.ResetThrottled} {
		wantStatus(t, requestReset(t, is, "alice@example.org"), 202)
		if o := is.WaitReset(t); o != want {
			t.Fatalf("outcome %q, want %q", o, want)
		}
	}
	if n := len(is.Mailer.Resets("alice@example.org")); n != 1 {
		t.Fatalf("%d reset mails, want 1", n)
	}
}

// Pre-account takeover: an attacker registers the owner's address and
// waits. The owner's reset proves the mailbox and makes the account the
// owner's: the attacker's sessions end, their password and device token
// stop working.
func TestPasswordResetTakesAPreRegisteredAccountBack(t *testing.T) {
	t.Parallel()
	is := issuertest.New(t, issuertest.Options{TrustedProxies: loopback})
	r := is.Post(t, "/api/auth/register/", map[string]string{"username": "dr-smith", "email": "owner@example.org", "password": password}, "")
	wantStatus(t, r, 201)
	attacker := loginFrom(t, is, "203.0.113.66", "dr-smith", password)
	wantStatus(t, attacker, 200)

	wantStatus(t, requestReset(t, is, "owner@example.org"), 202)
	is.WaitReset(t)
	r = confirmReset(t, is, lastResetToken(t, is, "owner@example.org"), newPassword)
	wantStatus(t, r, 200)
	if r.JSON["user"].(map[string]any)["email_verified"] != true {
		t.Fatalf("address not verified: %s", r.Body)
	}
	wantProblem(t, is.Post(t, "/api/auth/refresh/", map[string]string{"refresh_token": attacker.JSON["refresh_token"].(string)}, ""), 401, "invalid_grant")
	wantProblem(t, loginFrom(t, is, "203.0.113.66", "dr-smith", password), 401, "invalid_credentials")
	var devices int
	if err := queryRow(t, is, "SELECT count(*) FROM device_tokens", &devices); err != nil || devices != 0 {
		t.Fatalf("%d device tokens left (%v), want the attacker's gone", devices, err)
	}
}

// An imported user without a usable password gets in through a reset.
func TestPasswordResetForAUserWithoutAUsablePassword(t *testing.T) {
	t.Parallel()
	is := setup(t)
	issuertest.Exec(t, is.DatabaseURL, "UPDATE users SET password_hash = '!' WHERE username = 'alice'")
	wantStatus(t, requestReset(t, is, "alice@example.org"), 202)
	is.WaitReset(t)
	wantStatus(t, confirmReset(t, is, lastResetToken(t, is, "alice@example.org"), newPassword), 200)
	is.Login(t, "alice", newPassword)
}

// An account still unverified past UNVERIFIED_ACCOUNT_TTL is deleted, its
// sessions revoked with events first, and its username and address are
// free again; a verified account stays.
func TestUnverifiedAccountsExpire(t *testing.T) {
	t.Parallel()
	is := setup(t)
	wantStatus(t, is.Post(t, "/api/auth/verify-email/", map[string]string{"token": is.Mailer.LastToken(t, "alice@example.org")}, ""), 200)
	is.Register(t, "squatter", password)
	session := parseAccess(t, is, is.Login(t, "squatter", password).Access).SessionID
	is.Clock.Advance(auth.UnverifiedAccountTTLDefault - time.Second)
	if c, err := is.Auth.Cleanup(context.Background()); err != nil || c.UnverifiedAccounts != 0 {
		t.Fatalf("cleanup before the deadline: %+v %v", c, err)
	}
	is.Clock.Advance(2 * time.Second)
	if c, err := is.Auth.Cleanup(context.Background()); err != nil || c.UnverifiedAccounts != 1 {
		t.Fatalf("cleanup after the deadline: %+v %v", c, err)
	}
	if ev := revocationEvents(t, is); len(ev) != 1 || ev[0].Reason != auth.ReasonUnverifiedExpired || ev[0].SessionID.String() != session {
		t.Fatalf("revocation events %+v, want the squatter's session", ev)
	}
	is.Login(t, "alice", password)
	is.Register(t, "squatter", password)
}

// A token is single-use even when it is presented twice at once: one
// confirmation wins, the other gets invalid_reset_token.
func TestPasswordResetTokenIsUsedOnceUnderConcurrency(t *testing.T) {
	t.Parallel()
	is := setup(t)
	wantStatus(t, requestReset(t, is, "alice@example.org"), 202)
	is.WaitReset(t)
	token := lastResetToken(t, is, "alice@example.org")
	errs := make(chan error, 4)
	for i := range cap(errs) {
		go func() {
			_, err := is.Auth.ConfirmPasswordReset(context.Background(), token, newPassword+strings.Repeat("!", i))
			errs <- err
		}()
	}
	var won, refused int
	for range cap(errs) {
		switch err := <-errs; {
		case err == nil:
			won++
		case errors.Is(err, auth.ErrInvalidResetToken):
			refused++
		default:
			t.Errorf("confirmation failed: %v", err)
		}
	}
	if won != 1 || refused != cap(errs)-1 {
		t.Fatalf("%d confirmations succeeded and %d were refused, want 1 and %d", won, refused, cap(errs)-1)
	}
}

// A reset never enables a disabled account: a token issued before the
// account was disabled is refused like any dead token.
func TestPasswordResetOfAnAccountDisabledSinceIsRefused(t *testing.T) {
	t.Parallel()
	is := setup(t)
	wantStatus(t, requestReset(t, is, "alice@example.org"), 202)
	is.WaitReset(t)
	issuertest.Exec(t, is.DatabaseURL, "UPDATE users SET disabled_at = now() WHERE username = 'alice'")
	wantProblem(t, confirmReset(t, is, lastResetToken(t, is, "alice@example.org"), newPassword), 400, "invalid_reset_token")
	var disabled bool
	if err := queryRow(t, is, "SELECT disabled_at IS NOT NULL FROM users WHERE username = 'alice'", &disabled); err != nil || !disabled {
		t.Fatalf("alice disabled: %v %v", disabled, err)
	}
}

// gatedMailer holds every reset mail until the test opens the gate.
type gatedMailer struct {
	issuertest.Mailer
	sending chan struct{} // receives when a reset mail is being sent
	gate    chan struct{} // closed by the test to let it go
}

func (m *gatedMailer) SendPasswordReset(ctx context.Context, r auth.PasswordResetMail) error {
	m.sending <- struct{}{}
	<-m.gate
	return m.Mailer.SendPasswordReset(ctx, r)
}

// The answer is complete before the work is done: the client has its 202
// while the reset mail is still being sent, so the time of the answer
// cannot tell a known address from an unknown one.
func TestPasswordResetAnswersBeforeItSends(t *testing.T) {
	t.Parallel()
	m := &gatedMailer{sending: make(chan struct{}, 1), gate: make(chan struct{})}
	is := issuertest.New(t, issuertest.Options{Mailer: m})
	is.Register(t, "alice", password)
	answered := make(chan int, 1)
	go func() {
		resp, err := http.Post(is.Server.URL+resetPath, "application/json", strings.NewReader(`{"email":"alice@example.org"}`))
		if err != nil {
			answered <- 0
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		answered <- resp.StatusCode
	}()
	<-m.sending
	select {
	case status := <-answered:
		if status != http.StatusAccepted {
			t.Fatalf("answer %d, want 202", status)
		}
	case <-time.After(10 * time.Second):
		close(m.gate)
		t.Fatal("no answer while the mail was being sent: the answer waits for the work")
	}
	close(m.gate)
	if o := is.WaitReset(t); o != auth.ResetSent {
		t.Fatalf("outcome %q", o)
	}
}
