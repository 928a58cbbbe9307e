// Package mail delivers the issuer's mail (e-mail verification and password
// reset): over SMTP when SMTP_URL is set, or into the log for development
// when it is not. No message names a username: whoever registers an
// address chooses it, and the address's owner must not read their words.
package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/mail"
	"net/smtp"
	"net/url"
	"strings"
	"time"

	"github.com/medinsights/auth/issuer/internal/auth"
)

// LogMailer writes the tokens of verification and reset mail to the log
// instead of sending them. It exists for development only: main uses it
// only when SMTP_URL is unset, and says so at start-up.
type LogMailer struct {
	Logger   *slog.Logger
	LinkURL  string // EMAIL_VERIFICATION_URL, may be empty
	ResetURL string // PASSWORD_RESET_URL, may be empty
}

// logWarning heads every mail written to the log.
const logWarning = "SMTP_URL is unset: mail written to the log instead of sent (development only)"

// SendVerification implements auth.Mailer.
func (m LogMailer) SendVerification(ctx context.Context, v auth.VerificationMail) error {
	m.Logger.WarnContext(ctx, logWarning, "mail", "verification",
		"to", v.To, "verification_token", v.Token, "link", link(m.LinkURL, v.Token),
		"expires_at", v.ExpiresAt.UTC().Format(time.RFC3339))
	return nil
}

// SendPasswordReset implements auth.Mailer.
func (m LogMailer) SendPasswordReset(ctx context.Context, r auth.PasswordResetMail) error {
	m.Logger.WarnContext(ctx, logWarning, "mail", "password_reset",
		"to", r.To, "reset_token", r.Token, "link", link(m.ResetURL, r.Token),
		"expires_at", r.ExpiresAt.UTC().Format(time.RFC3339))
	return nil
}

// SMTPMailer sends mail through the server of an smtp:// or smtps:// URL,
// authenticating with PLAIN when the URL carries a user. smtps:// is TLS
// from the first byte (implicit TLS); smtp:// must upgrade with STARTTLS,
// and a server that does not offer it is refused before anything is sent
// (a verification or reset token is a credential), unless the host is
// loopback (a local relay or a development catcher).
type SMTPMailer struct {
	URL      *url.URL
	From     string
	LinkURL  string        // EMAIL_VERIFICATION_URL
	ResetURL string        // PASSWORD_RESET_URL
	Timeout  time.Duration // per message; zero means 10 s

	dialFunc func(ctx context.Context, network, addr string) (net.Conn, error) // tests only
}

// ErrNoSTARTTLS: an smtp:// server that is not on loopback does not offer
// STARTTLS.
var ErrNoSTARTTLS = errors.New("smtp server does not offer STARTTLS: use smtps:// or a server with STARTTLS")

// SendVerification implements auth.Mailer.
func (m SMTPMailer) SendVerification(ctx context.Context, v auth.VerificationMail) error {
	return m.sendText(ctx, v.To, "Confirm your e-mail address",
		"Confirm your e-mail address for MedInsights", m.LinkURL, v.Token, v.ExpiresAt,
		"If you did not register with MedInsights, ignore this message.")
}

// SendPasswordReset implements auth.Mailer.
func (m SMTPMailer) SendPasswordReset(ctx context.Context, r auth.PasswordResetMail) error {
	return m.sendText(ctx, r.To, "Reset your MedInsights password",
		"Choose a new MedInsights password", m.ResetURL, r.Token, r.ExpiresAt,
		"If you did not ask for this, ignore this message: your password stays as it is.")
}

// sendText sends a plain-text message: what to do, the link (or the bare
// token when base is empty), its expiry, and what to do otherwise.
func (m SMTPMailer) sendText(ctx context.Context, recipient, subject, action, base, token string, expires time.Time, otherwise string) error {
	from, err := mail.ParseAddress(m.From)
	if err != nil {
		return fmt.Errorf("parse MAIL_FROM: %w", err)
	}
	to, err := mail.ParseAddress(recipient)
	if err != nil {
		return fmt.Errorf("parse recipient: %w", err)
	}
	body := "Hello,\r\n\r\n" + action
	if l := link(base, token); l != "" {
		body += " by opening this link:\r\n\r\n" + l + "\r\n"
	} else {
		body += " with this code:\r\n\r\n" + token + "\r\n"
	}
	body += "\r\nIt expires at " + expires.UTC().Format(time.RFC1123) + ".\r\n\r\n" + otherwise + "\r\n"
	msg := "From: " + from.String() + "\r\nTo: " + to.String() + "\r\nSubject: " + subject + "\r\n" +
		"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n" + body
	return m.send(ctx, from.Address, to.Address, []byte(msg))
}

func (m SMTPMailer) send(ctx context.Context, from, to string, msg []byte) error {
	timeout := m.Timeout
	if timeout == 0 {
		timeout = 10 * time.Second
	}
	host := m.URL.Hostname()
	port := m.URL.Port()
	if port == "" {
		port = map[string]string{"smtp": "25", "smtps": "465"}[m.URL.Scheme]
	}
	d := net.Dialer{Timeout: timeout}
	dial := d.DialContext
	if m.dialFunc != nil {
		dial = m.dialFunc
	}
	conn, err := dial(ctx, "tcp", net.JoinHostPort(host, port))
	if err != nil {
		return fmt.Errorf("connect to smtp server: %w", err)
	}
	_ = conn.SetDeadline(time.Now().Add(timeout))
	if m.URL.Scheme == "smtps" {
		conn = tls.Client(conn, &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12})
	}
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("start smtp session: %w", err)
	}
	defer c.Close()
	if m.URL.Scheme == "smtp" {
		switch ok, _ := c.Extension("STARTTLS"); {
		case ok:
			if err := c.StartTLS(&tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}); err != nil {
				return fmt.Errorf("starttls: %w", err)
			}
		case !isLoopback(host):
			return ErrNoSTARTTLS
		}
	}
	if u := m.URL.User; u != nil {
		pass, _ := u.Password()
		if err := c.Auth(smtp.PlainAuth("", u.Username(), pass, host)); err != nil {
			return fmt.Errorf("smtp auth: %w", err)
		}
	}
	if err := c.Mail(from); err != nil {
		return fmt.Errorf("smtp mail from: %w", err)
	}
	if err := c.Rcpt(to); err != nil {
		return fmt.Errorf("smtp rcpt to: %w", err)
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("smtp data: %w", err)
	}
	if _, err := w.Write(msg); err != nil {
		return fmt.Errorf("smtp write: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("smtp end data: %w", err)
	}
	return c.Quit()
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func link(base, token string) string {
	if base == "" {
		return ""
	}
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	return base + sep + "token=" + url.QueryEscape(token)
}
