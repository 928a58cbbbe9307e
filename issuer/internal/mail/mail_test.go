package mail_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/medinsights/auth/issuer/internal/auth"
	"github.com/medinsights/auth/issuer/internal/mail"
)

// fakeSMTP accepts one message and returns what it received.
func fakeSMTP(t *testing.T) (addr string, received <-chan string) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	out := make(chan string, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
		r := bufio.NewReader(conn)
		reply := func(s string) { conn.Write([]byte(s + "\r\n")) }
		reply("220 fake ESMTP")
		var data strings.Builder
		inData := false
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				out <- data.String()
				return
			}
			if inData {
				if line == ".\r\n" {
					inData = false
					reply("250 queued")
					continue
				}
				data.WriteString(line)
				continue
			}
			switch cmd := strings.ToUpper(strings.Fields(line)[0]); cmd {
			case "EHLO", "HELO":
				reply("250 fake")
			case "DATA":
				inData = true
				reply("354 go on")
			case "QUIT":
				reply("221 bye")
				out <- data.String()
				return
			default:
				reply("250 ok")
			}
		}
	}()
	return ln.Addr().String(), out
}

func TestSMTPMailerSendsTheLink(t *testing.T) {
	t.Parallel()
	addr, received := fakeSMTP(t)
	m := mail.SMTPMailer{URL: &url.URL{Scheme: "smtp", Host: addr}, From: "MedInsights <no-reply@example.org>", LinkURL: "https://app.example.org/verify"}
	err := m.SendVerification(context.Background(), auth.VerificationMail{To: "alice@example.org", Token: "tok-123", ExpiresAt: time.Now().Add(24 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	msg := <-received
	for _, want := range []string{"To: <alice@example.org>", "Subject: Confirm your e-mail address", "https://app.example.org/verify?token=tok-123"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message lacks %q:\n%s", want, msg)
		}
	}
}

// The reset mail links to PASSWORD_RESET_URL, and no mail names a
// username: whoever registered the address chose it.
func TestSMTPMailerSendsTheResetLinkAndNoUsername(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, subject, link string
		send                func(mail.SMTPMailer) error
	}{
		{"reset", "Subject: Reset your MedInsights password", "https://app.example.org/reset?token=tok-321", func(m mail.SMTPMailer) error {
			return m.SendPasswordReset(context.Background(), auth.PasswordResetMail{To: "alice@example.org", Token: "tok-321", ExpiresAt: time.Now().Add(30 * time.Minute)})
		}},
		{"verification", "Subject: Confirm your e-mail address", "https://app.example.org/verify?token=tok-321", func(m mail.SMTPMailer) error {
			return m.SendVerification(context.Background(), auth.VerificationMail{To: "alice@example.org", Token: "tok-321", ExpiresAt: time.Now().Add(time.Hour)})
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			addr, received := fakeSMTP(t)
			m := mail.SMTPMailer{URL: &url.URL{Scheme: "smtp", Host: addr}, From: "MedInsights <no-reply@example.org>",
				LinkURL: "https://app.example.org/verify", ResetURL: "https://app.example.org/reset"}
			if err := c.send(m); err != nil {
				t.Fatal(err)
			}
			msg := <-received
			_, body, _ := strings.Cut(msg, "\r\n\r\n")
			if !strings.Contains(msg, c.subject) || !strings.Contains(body, c.link) || !strings.HasPrefix(body, "Hello,\r\n") {
				t.Fatalf("message:\n%s", msg)
			}
		})
	}
}

func TestLogMailerWritesTheResetTokenToTheLog(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	m := mail.LogMailer{Logger: slog.New(slog.NewJSONHandler(&buf, nil)), ResetURL: "https://app.example.org/reset"}
	if err := m.SendPasswordReset(context.Background(), auth.PasswordResetMail{To: "a@example.org", Token: "tok-654"}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"reset_token":"tok-654"`, "development only", `"link":"https://app.example.org/reset?token=tok-654"`, `"level":"WARN"`} {
		if !strings.Contains(buf.String(), want) {
			t.Fatalf("log lacks %s: %s", want, buf.String())
		}
	}
}

func TestLogMailerWritesTheTokenToTheLog(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	m := mail.LogMailer{Logger: slog.New(slog.NewJSONHandler(&buf, nil))}
	if err := m.SendVerification(context.Background(), auth.VerificationMail{To: "a@example.org", Token: "tok-456"}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `"verification_token":"tok-456"`) || !strings.Contains(buf.String(), "development only") {
		t.Fatalf("log %s", buf.String())
	}
}

// Over smtp:// to a host that is not loopback, a server without STARTTLS
// is refused before the message (a verification token) is sent.
func TestSMTPMailerRequiresSTARTTLSBeyondLoopback(t *testing.T) {
	t.Parallel()
	addr, received := fakeSMTP(t) // offers no STARTTLS
	m := mail.DialingTo(mail.SMTPMailer{URL: &url.URL{Scheme: "smtp", Host: "mail.example.org:587"}, From: "MedInsights <no-reply@example.org>"}, addr)
	err := m.SendVerification(context.Background(), auth.VerificationMail{To: "alice@example.org", Token: "tok-789", ExpiresAt: time.Now().Add(time.Hour)})
	if !errors.Is(err, mail.ErrNoSTARTTLS) {
		t.Fatalf("send without STARTTLS: %v, want ErrNoSTARTTLS", err)
	}
	if msg := <-received; strings.Contains(msg, "tok-789") {
		t.Fatalf("the token was sent in clear:\n%s", msg)
	}
}
