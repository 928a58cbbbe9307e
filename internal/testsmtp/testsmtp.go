// Package testsmtp is an SMTP server for tests: it listens on 127.0.0.1,
// speaks enough of RFC 5321 for net/smtp (EHLO, MAIL, RCPT, DATA, RSET,
// NOOP, QUIT), offers no STARTTLS (loopback: the issuer's mailer accepts
// that only there), and hands every message it accepts to the test.
package testsmtp

import (
	"bufio"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// Message is one message the server accepted.
type Message struct {
	From string
	To   []string
	Data string // headers and body, dot-unstuffed, CRLF line ends
}

// Server is a running test SMTP server.
type Server struct {
	// Addr is host:port on 127.0.0.1.
	Addr string
	// Messages receives every accepted message, in order.
	Messages chan Message

	ln net.Listener
	wg sync.WaitGroup
}

// Start starts a server that stops when t ends.
func Start(t testing.TB) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Addr: ln.Addr().String(), Messages: make(chan Message, 64), ln: ln}
	s.wg.Add(1)
	go s.accept()
	t.Cleanup(func() {
		ln.Close()
		s.wg.Wait()
	})
	return s
}

// Next waits up to 10 s for the next message.
func (s *Server) Next(t testing.TB) Message {
	t.Helper()
	select {
	case m := <-s.Messages:
		return m
	case <-time.After(10 * time.Second):
		t.Fatal("no mail arrived within 10 s")
		return Message{}
	}
}

func (s *Server) accept() {
	defer s.wg.Done()
	for {
		conn, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.serve(conn)
		}()
	}
}

// serve runs one SMTP session.
func (s *Server) serve(conn net.Conn) {
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	r := bufio.NewReader(conn)
	reply := func(line string) { _, _ = conn.Write([]byte(line + "\r\n")) }
	reply("220 testsmtp ESMTP")
	var m Message
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		verb, arg, _ := strings.Cut(strings.TrimRight(line, "\r\n"), " ")
		switch strings.ToUpper(verb) {
		case "EHLO":
			reply("250-testsmtp")
			reply("250 8BITMIME")
		case "HELO", "NOOP":
			reply("250 ok")
		case "MAIL":
			m = Message{From: address(arg)}
			reply("250 ok")
		case "RCPT":
			m.To = append(m.To, address(arg))
			reply("250 ok")
		case "RSET":
			m = Message{}
			reply("250 ok")
		case "DATA":
			reply("354 end with <CRLF>.<CRLF>")
			var data strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				data.WriteString(strings.TrimPrefix(l, "."))
			}
			m.Data = data.String()
			s.Messages <- m
			m = Message{}
			reply("250 queued")
		case "QUIT":
			reply("221 bye")
			return
		default:
			reply("502 command not implemented")
		}
	}
}

// address is the path of "FROM:<a@b>" or "TO:<a@b>".
func address(arg string) string {
	_, path, _ := strings.Cut(arg, ":")
	path, _, _ = strings.Cut(strings.TrimSpace(path), " ")
	return strings.Trim(path, "<>")
}
