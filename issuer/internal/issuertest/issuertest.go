// Package issuertest builds a complete issuer on a database of its own for
// tests and benchmarks: real PostgreSQL (testdb), migrated schema, a fresh
// signing key, the real HTTP handler, a mailer that keeps what it sends, and
// a clock the test moves.
package issuertest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/medinsights/auth/internal/testdb"
	"github.com/medinsights/auth/internal/testlog"
	"github.com/medinsights/auth/issuer/internal/api"
	"github.com/medinsights/auth/issuer/internal/auth"
	"github.com/medinsights/auth/issuer/internal/signer"
	"github.com/medinsights/auth/issuer/internal/store"
)

// Defaults of an issuer built by New.
const (
	IssuerURL       = "http://issuer.test"
	Audience        = "medinsights"
	AccessLifetime  = 15 * time.Minute
	RefreshLifetime = 30 * 24 * time.Hour
	ReuseInterval   = 10 * time.Second
	ClockSkew       = 30 * time.Second
	Origin          = "https://app.medinsights.test"
)

// FastPasswords are argon2id parameters cheap enough for tests under -race.
var FastPasswords = auth.PasswordParams{Memory: 64, Time: 1, Threads: 1}

var (
	keyOnce sync.Once
	key     *rsa.PrivateKey
)

// Key returns one RSA-2048 key shared by the whole test binary.
func Key(t testing.TB) *rsa.PrivateKey {
	keyOnce.Do(func() {
		var err error
		if key, err = rsa.GenerateKey(rand.Reader, 2048); err != nil {
			panic(err)
		}
	})
	return key
}

// Clock is a settable clock, safe for concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// Mailer keeps every mail.
type Mailer struct {
	mu     sync.Mutex
	sent   []auth.VerificationMail
	resets []auth.PasswordResetMail
}

// SendPasswordReset implements auth.Mailer.
func (m *Mailer) SendPasswordReset(_ context.Context, r auth.PasswordResetMail) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.resets = append(m.resets, r)
	return nil
}

// Resets returns the reset mails sent to address, oldest first.
func (m *Mailer) Resets(address string) []auth.PasswordResetMail {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []auth.PasswordResetMail
	for _, r := range m.resets {
		if r.To == address {
			out = append(out, r)
		}
	}
	return out
}

// SendVerification implements auth.Mailer.
func (m *Mailer) SendVerification(_ context.Context, v auth.VerificationMail) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sent = append(m.sent, v)
	return nil
}

// LastToken returns the token of the last mail sent to address.
func (m *Mailer) LastToken(t testing.TB, address string) string {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	for i := len(m.sent) - 1; i >= 0; i-- {
		if m.sent[i].To == address {
			return m.sent[i].Token
		}
	}
	t.Fatalf("no verification mail to %s", address)
	return ""
}

// Count returns how many mails went to address.
func (m *Mailer) Count(address string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for _, s := range m.sent {
		if s.To == address {
			n++
		}
	}
	return n
}

// Options adjust an issuer built by New.
type Options struct {
	// DatabaseURL, when set, is an empty database to use instead of a new
	// one on TEST_DATABASE_URL's server.
	DatabaseURL string
	Password    auth.PasswordParams // zero: FastPasswords
	MaxConns    int32
	Logger      *slog.Logger // nil: discard
	// PasswordHashConcurrency and PasswordHashWait: see auth.Options.
	PasswordHashConcurrency int
	PasswordHashWait        time.Duration
	// Blocklist: see auth.Options.
	Blocklist auth.Blocklist
	// Events observes the auth service's security events (nil: none).
	Events auth.Events
	// AuditRetention: see auth.Options (zero: audit rows are kept).
	AuditRetention time.Duration
	// Throttle replaces auth.DefaultThrottle (which New uses, as
	// production does); NoThrottle switches throttling off.
	Throttle   *auth.Throttle
	NoThrottle bool
	// TrustedProxies: see api.Options.
	TrustedProxies []netip.Prefix
	// Mailer, when set, sends the mail instead of the Mailer that keeps it.
	Mailer auth.Mailer
	// RefreshCookiePath: see api.Options (empty: /).
	RefreshCookiePath string
}

// Issuer is a running issuer for one test.
type Issuer struct {
	DatabaseURL string
	Store       *store.Store
	Auth        *auth.Service
	Signer      *signer.Signer
	Handler     http.Handler
	Server      *httptest.Server
	Clock       *Clock
	Mailer      *Mailer
	Statements  *store.StatementCounter
	Logs        *testlog.Buffer
	// Hashes counts password hash computations (auth.Events.PasswordHashed).
	Hashes *atomic.Int64
	// ResetsDone receives the outcome of every password reset request once
	// it has been handled (auth.Events.PasswordResetDone).
	ResetsDone chan string
}

// WaitReset waits for the next password reset request to be handled and
// returns its outcome.
func (is *Issuer) WaitReset(t testing.TB) string {
	t.Helper()
	select {
	case o := <-is.ResetsDone:
		return o
	case <-time.After(10 * time.Second):
		t.Fatal("no password reset request was handled within 10 s")
		return ""
	}
}

// counting is the test's auth.Events: it counts hashes and hands over the
// outcome of every reset request, and passes everything on to Events.
type counting struct {
	auth.Events
	hashes *atomic.Int64
	resets chan<- string
}

func (c counting) PasswordHashed() {
	c.hashes.Add(1)
	c.Events.PasswordHashed()
}

func (c counting) PasswordResetDone(outcome string) {
	c.resets <- outcome
	c.Events.PasswordResetDone(outcome)
}

// New builds an issuer on a new, migrated database and serves it on a
// loopback httptest server, all closed when t ends.
func New(t testing.TB, o Options) *Issuer {
	t.Helper()
	ctx := context.Background()
	url := o.DatabaseURL
	if url == "" {
		url = testdb.New(t)
	}
	if _, err := store.Migrate(ctx, url); err != nil {
		t.Fatalf("migrate: %v", err)
	}
	counter := new(store.StatementCounter)
	st, err := store.New(ctx, store.Config{URL: url, Counter: counter, MaxConns: o.MaxConns})
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(st.Close)
	sg, err := signer.New(Key(t))
	if err != nil {
		t.Fatal(err)
	}
	logs := &testlog.Buffer{}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	clock := &Clock{t: time.Now().Truncate(time.Second)}
	mailer := &Mailer{}
	var sender auth.Mailer = mailer
	if o.Mailer != nil {
		sender = o.Mailer
	}
	if o.Password == (auth.PasswordParams{}) {
		o.Password = FastPasswords
	}
	throttle := auth.DefaultThrottle
	if o.Throttle != nil {
		throttle = *o.Throttle
	}
	throttle.Enabled = throttle.Enabled && !o.NoThrottle
	hashes := new(atomic.Int64)
	resets := make(chan string, 64)
	var events auth.Events = auth.NoEvents{}
	if o.Events != nil {
		events = o.Events
	}
	svc, err := auth.New(auth.Options{
		Store: st, Signer: sg, Mailer: sender, Logger: log, Throttle: throttle,
		Issuer: IssuerURL, Audience: Audience,
		AccessLifetime: AccessLifetime, RefreshLifetime: RefreshLifetime,
		ReuseInterval: ReuseInterval, ClockSkew: ClockSkew,
		DefaultRoles: []string{"patient"}, Password: o.Password, Now: clock.Now,
		PasswordHashConcurrency: o.PasswordHashConcurrency, PasswordHashWait: o.PasswordHashWait,
		Events:         counting{Events: events, hashes: hashes, resets: resets},
		AuditRetention: o.AuditRetention, Blocklist: o.Blocklist,
	})
	if err != nil {
		t.Fatal(err)
	}
	h, err := api.New(api.Options{Auth: svc, Store: st, Signer: sg, Logger: log, Issuer: IssuerURL, CORSAllowedOrigins: []string{Origin}, TrustedProxies: o.TrustedProxies, RefreshCookiePath: o.RefreshCookiePath})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &Issuer{
		DatabaseURL: url, Store: st, Auth: svc, Signer: sg, Handler: h, Server: srv,
		Clock: clock, Mailer: mailer, Statements: counter, Logs: logs, Hashes: hashes, ResetsDone: resets,
	}
}

// Response is an answer, its body decoded when it is JSON.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
	JSON   map[string]any
}

// Request is what Do sends.
type Request struct {
	Method      string
	Path        string
	Body        any    // JSON-encoded unless a string or []byte
	ContentType string // default application/json when Body is set
	Token       string // Bearer access token
	Header      http.Header
}

// Do sends r to the issuer and reads the whole answer; it fails t when the
// request cannot be made or its answer read. Call it from the test's
// goroutine only: elsewhere use Send.
func (is *Issuer) Do(t testing.TB, r Request) Response {
	t.Helper()
	out, err := is.Send(r)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Send is Do for any goroutine: it returns what Do would fail t with.
func (is *Issuer) Send(r Request) (Response, error) {
	var body io.Reader
	switch b := r.Body.(type) {
	case nil:
	case string:
		body = strings.NewReader(b)
	case []byte:
		body = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			return Response{}, fmt.Errorf("%s %s: encode body: %w", r.Method, r.Path, err)
		}
		body = bytes.NewReader(data)
	}
	req, err := http.NewRequest(r.Method, is.Server.URL+r.Path, body)
	if err != nil {
		return Response{}, err
	}
	for k, v := range r.Header {
		req.Header[k] = v
	}
	if r.Body != nil {
		ct := r.ContentType
		if ct == "" {
			ct = "application/json"
		}
		req.Header.Set("Content-Type", ct)
	}
	if r.Token != "" {
		req.Header.Set("Authorization", "Bearer "+r.Token)
	}
	resp, err := is.Server.Client().Do(req)
	if err != nil {
		return Response{}, fmt.Errorf("%s %s: %w", r.Method, r.Path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return Response{}, fmt.Errorf("%s %s: read answer: %w", r.Method, r.Path, err)
	}
	out := Response{Status: resp.StatusCode, Header: resp.Header, Body: data}
	if strings.Contains(resp.Header.Get("Content-Type"), "json") && len(data) > 0 {
		if err := json.Unmarshal(data, &out.JSON); err != nil {
			return Response{}, fmt.Errorf("%s %s: body is not JSON: %w\n%s", r.Method, r.Path, err, data)
		}
	}
	return out, nil
}

// Post sends a JSON body.
func (is *Issuer) Post(t testing.TB, path string, body any, token string) Response {
	t.Helper()
	return is.Do(t, Request{Method: http.MethodPost, Path: path, Body: body, Token: token})
}

// Get sends a GET.
func (is *Issuer) Get(t testing.TB, path, token string) Response {
	t.Helper()
	return is.Do(t, Request{Method: http.MethodGet, Path: path, Token: token})
}

// Tokens are what a login or a refresh returned.
type Tokens struct {
	Access, Refresh string
	UserID          string
}

// Register creates a user through the API and fails t unless it gets 201.
func (is *Issuer) Register(t testing.TB, username, password string) {
	t.Helper()
	r := is.Post(t, "/api/auth/register/", map[string]string{"username": username, "email": username + "@example.org", "password": password}, "")
	if r.Status != http.StatusCreated {
		t.Fatalf("register %s: %d %s", username, r.Status, r.Body)
	}
}

// Login logs in through the API and fails t unless it gets 200.
func (is *Issuer) Login(t testing.TB, username, password string) Tokens {
	t.Helper()
	r := is.Post(t, "/api/auth/login/", map[string]string{"username": username, "password": password}, "")
	if r.Status != http.StatusOK {
		t.Fatalf("login %s: %d %s", username, r.Status, r.Body)
	}
	return tokensOf(t, r)
}

// Refresh rotates through the API and fails t unless it gets 200.
func (is *Issuer) Refresh(t testing.TB, refresh string) Tokens {
	t.Helper()
	r := is.Post(t, "/api/auth/refresh/", map[string]string{"refresh_token": refresh}, "")
	if r.Status != http.StatusOK {
		t.Fatalf("refresh: %d %s", r.Status, r.Body)
	}
	return tokensOf(t, r)
}

func tokensOf(t testing.TB, r Response) Tokens {
	t.Helper()
	user, _ := r.JSON["user"].(map[string]any)
	access, _ := r.JSON["access_token"].(string)
	refresh, _ := r.JSON["refresh_token"].(string)
	id, _ := user["id"].(string)
	if access == "" || refresh == "" || id == "" {
		t.Fatalf("token response lacks access_token, refresh_token or user.id: %s", r.Body)
	}
	return Tokens{Access: access, Refresh: refresh, UserID: id}
}

// QueryRow runs one query on the test database, for assertions on what the
// issuer wrote.
func QueryRow(t testing.TB, url, sql string, dst any, args ...any) error {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	return conn.QueryRow(ctx, sql, args...).Scan(dst)
}

// Exec runs one statement on the test database.
func Exec(t testing.TB, url, sql string, args ...any) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// WithPasswords returns a second issuer on the same database and key whose
// service hashes with p.
func (is *Issuer) WithPasswords(t testing.TB, p auth.PasswordParams) *Issuer {
	t.Helper()
	svc, err := auth.New(auth.Options{
		Store: is.Store, Signer: is.Signer, Mailer: is.Mailer, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil)),
		Issuer: IssuerURL, Audience: Audience, AccessLifetime: AccessLifetime, RefreshLifetime: RefreshLifetime,
		ReuseInterval: ReuseInterval, ClockSkew: ClockSkew, DefaultRoles: []string{"patient"}, Password: p, Now: is.Clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	h, err := api.New(api.Options{Auth: svc, Store: is.Store, Signer: is.Signer, Issuer: IssuerURL, Logger: slog.New(slog.NewJSONHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	cp := *is
	cp.Auth, cp.Handler, cp.Server = svc, h, srv
	return &cp
}

// NewRefreshSession starts a session for userID directly in the store, as a
// login would, and returns its refresh token. Benchmarks use it to make many
// sessions without paying for argon2id or a signature each.
func (is *Issuer) NewRefreshSession(t testing.TB, userID uuid.UUID) string {
	t.Helper()
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	token := base64.RawURLEncoding.EncodeToString(b)
	sum := sha256.Sum256([]byte(token))
	now := is.Clock.Now()
	u, err := is.Store.UserGetByID(context.Background(), userID)
	if err != nil {
		t.Fatal(err)
	}
	_, err = is.Store.SessionCreate(context.Background(), store.NewSession{ID: uuid.New(), UserID: userID, PasswordHash: u.PasswordHash, RefreshHash: sum[:], Now: now, ExpiresAt: now.Add(RefreshLifetime)})
	if err != nil {
		t.Fatal(err)
	}
	return token
}
