package accesstoken

import (
	"encoding/base64"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"
)

// headerNames lists the only JOSE header parameters a token may carry. crit,
// jku, x5u, jwk, x5c and every other parameter are refused: a verifier that
// honoured them could be pointed at a key of the attacker's choosing
// (RFC 8725 section 3.10), and this project never emits them.
var headerNames = []string{"alg", "typ", "kid"}

const (
	headerAlg = iota
	headerTyp
	headerKid
)

// maxNumericDate is 9999-12-31T23:59:59Z. A time claim outside
// [0, maxNumericDate] is refused rather than converted: float64 to int64
// conversion of a larger value is implementation-defined.
const maxNumericDate = 253402300799

// strictBase64 decodes base64url without padding and refuses non-canonical
// encodings, whose unused trailing bits are not zero (RFC 7515 section 2,
// RFC 4648 section 3.5).
var strictBase64 = base64.RawURLEncoding.Strict()

// compact is a token whose size, shape, base64url and JOSE header have
// passed: what the rest of the verification works on.
type compact struct {
	header  header
	payload string // the JSON text of the claims
	signed  string // the signing input: header and payload segments
	sig     []byte
}

// open checks a token's size, shape and characters before anything is
// decoded, then decodes all three segments (into one buffer) before any JSON
// is read, then reads the header strictly and checks alg, typ and kid.
//
// The characters are checked by the strict base64url decoding itself, which
// refuses everything outside the alphabet except CR and LF, which Go's
// decoder skips; those are refused first.
func open(token string) (compact, error) {
	var t compact
	if len(token) == 0 || len(token) > MaxTokenSize {
		return t, fmt.Errorf("%w: length %d", ErrMalformed, len(token))
	}
	if strings.IndexByte(token, '\n') >= 0 || strings.IndexByte(token, '\r') >= 0 {
		return t, fmt.Errorf("%w: character outside base64url", ErrMalformed)
	}
	if dots := strings.Count(token, "."); dots != 2 {
		return t, fmt.Errorf("%w: %d segments", ErrMalformed, dots+1)
	}
	h, rest, _ := strings.Cut(token, ".")
	p, s, _ := strings.Cut(rest, ".")
	if h == "" || p == "" || s == "" {
		return t, fmt.Errorf("%w: empty segment", ErrMalformed)
	}
	buf := make([]byte, strictBase64.DecodedLen(len(h))+strictBase64.DecodedLen(len(p))+strictBase64.DecodedLen(len(s)))
	nh, err := strictBase64.Decode(buf, []byte(h))
	if err != nil {
		return t, fmt.Errorf("%w: header is not canonical base64url", ErrMalformed)
	}
	np, err := strictBase64.Decode(buf[nh:], []byte(p))
	if err != nil {
		return t, fmt.Errorf("%w: payload is not canonical base64url", ErrMalformed)
	}
	ns, err := strictBase64.Decode(buf[nh+np:], []byte(s))
	if err != nil {
		return t, fmt.Errorf("%w: signature is not canonical base64url", ErrMalformed)
	}
	text := string(buf[:nh+np])
	t.payload = text[nh:]
	t.signed = token[:len(h)+1+len(p)]
	t.sig = buf[nh+np : nh+np+ns]
	if t.header, err = decodeHeader(text[:nh]); err != nil {
		return t, err
	}
	switch {
	case t.header.Alg != Algorithm:
		return t, fmt.Errorf("%w: alg %s", ErrHeader, quote(t.header.Alg))
	case !typAllowed(t.header.Typ):
		return t, fmt.Errorf("%w: typ %s", ErrHeader, quote(t.header.Typ))
	case t.header.Kid == "":
		return t, fmt.Errorf("%w: kid is missing", ErrHeader)
	}
	return t, nil
}

type header struct {
	Alg string
	Typ string
	Kid string
}

// decodeHeader reads the JOSE header strictly (see scanner.object) and
// keeps alg, typ and kid.
func decodeHeader(data string) (header, error) {
	var h header
	s := scanner{data: data}
	err := s.object(headerNames, ErrHeader, func(i int) error {
		v, err := s.string()
		switch i {
		case headerAlg:
			h.Alg = v
		case headerTyp:
			h.Typ = v
		case headerKid:
			h.Kid = v
		}
		return err
	})
	return h, err
}

// decodeClaims reads the claims strictly (see scanner.object) into c, with
// the JSON types the claims have: exp, nbf and iat numbers, aud a string or
// an array of strings, roles an array of strings, email_verified a boolean,
// every other claim a string. Time claims become jwt.NumericDate exactly as
// golang-jwt would make them.
//
// The strings in c share data's memory where they hold no escape, so that a
// token costs one copy of its payload rather than one allocation per claim.
func decodeClaims(data string, c *Claims) error {
	s := scanner{data: data}
	return s.object(claimNames, ErrInvalidClaims, func(i int) error {
		var err error
		switch i {
		case claimIss:
			c.Issuer, err = s.string()
		case claimSub:
			c.Subject, err = s.string()
		case claimAud:
			c.Audience, err = s.audience()
		case claimExp:
			c.ExpiresAt, err = s.numericDate()
		case claimNbf:
			c.NotBefore, err = s.numericDate()
		case claimIat:
			c.IssuedAt, err = s.numericDate()
		case claimJti:
			c.ID, err = s.string()
		case claimSid:
			c.SessionID, err = s.string()
		case claimRoles:
			c.Roles, err = s.strings()
		case claimUsername:
			c.Username, err = s.string()
		case claimEmailVerified:
			c.EmailVerified, err = s.boolean()
		}
		return err
	})
}

// Errors of the scanner; the caller adds the member name and ErrMalformed.
var (
	errSyntax     = errors.New("invalid JSON")
	errControl    = errors.New("holds a control character")
	errUTF8       = errors.New("holds invalid UTF-8")
	errSurrogate  = errors.New("holds an unpaired UTF-16 surrogate")
	errNotString  = errors.New("is not a string")
	errNotStrings = errors.New("is not an array of strings")
	errNotAud     = errors.New("is not a string or an array of strings")
	errNotNumber  = errors.New("is not a number")
	errNotBool    = errors.New("is not a boolean")
	errDateRange  = errors.New("is not a NumericDate between 0 and year 9999")
)

// scanner reads the flat JSON objects of a token (RFC 8259) strictly and
// without reflection. It refuses what encoding/json would let through: a
// duplicate member name (compared after unescaping, so "s\u0075b" is "sub"),
// a name outside the allowed list (including one that only differs in case),
// a value of the wrong JSON type, a control character, invalid UTF-8 or an
// unpaired surrogate inside a string, and anything after the object.
//
// It holds no state between tokens, so every call makes its own.
type scanner struct {
	data string
	pos  int
	buf  []byte // scratch for unescaping
}

// object reads one JSON object whose member names must be in names, calling
// member with the index of each name after the scanner has stopped at its
// value; member must consume exactly that value. A name outside names is
// refused with what; every other fault with ErrMalformed.
func (s *scanner) object(names []string, what error, member func(i int) error) error {
	s.space()
	if !s.consume('{') {
		return fmt.Errorf("%w: not a JSON object", ErrMalformed)
	}
	var seen uint64
	s.space()
	if !s.consume('}') {
		for {
			s.space()
			name, err := s.string()
			if err != nil {
				return fmt.Errorf("%w: member name: %w", ErrMalformed, err)
			}
			i := indexOf(names, name)
			if i < 0 {
				return fmt.Errorf("%w: %s is not allowed", what, quote(name))
			}
			if seen&(1<<i) != 0 {
				return fmt.Errorf("%w: %q appears twice", ErrMalformed, names[i])
			}
			seen |= 1 << i
			s.space()
			if !s.consume(':') {
				return fmt.Errorf("%w: %w", ErrMalformed, errSyntax)
			}
			s.space()
			if err := member(i); err != nil {
				return fmt.Errorf("%w: %q %w", ErrMalformed, names[i], err)
			}
			s.space()
			if s.consume('}') {
				break
			}
			if !s.consume(',') {
				return fmt.Errorf("%w: %w", ErrMalformed, errSyntax)
			}
		}
	}
	s.space()
	if s.pos != len(s.data) {
		return fmt.Errorf("%w: data after the JSON object", ErrMalformed)
	}
	return nil
}

func indexOf(names []string, name string) int {
	for i, n := range names {
		if len(n) == len(name) && n[0] == name[0] && n == name {
			return i
		}
	}
	return -1
}

// quote renders an attacker-chosen name or value for an error message (and
// so for a log line): escaped, and cut short.
func quote(name string) string {
	const max = 64 // room for an RFC 7638 kid of 43 characters
	if len(name) > max {
		return strconv.Quote(name[:max]) + "..."
	}
	return strconv.Quote(name)
}

func (s *scanner) space() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\n', '\r':
			s.pos++
		default:
			return
		}
	}
}

func (s *scanner) consume(c byte) bool {
	if s.pos < len(s.data) && s.data[s.pos] == c {
		s.pos++
		return true
	}
	return false
}

func (s *scanner) peek() byte {
	if s.pos < len(s.data) {
		return s.data[s.pos]
	}
	return 0
}

// plain marks the bytes that stand for themselves inside a JSON string and
// need no further check: printable ASCII other than the quote and the
// backslash.
var plain = func() (t [256]bool) {
	for c := 0x20; c < 0x7f; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// string reads a JSON string and returns its unescaped UTF-8 text: a slice
// of the input when the string holds no escape, a new string otherwise.
func (s *scanner) string() (string, error) {
	if !s.consume('"') {
		return "", errNotString
	}
	start := s.pos
	for s.pos < len(s.data) {
		c := s.data[s.pos]
		switch {
		case plain[c]:
			s.pos++
		case c == '"':
			s.pos++
			return s.data[start : s.pos-1], nil
		case c == '\\':
			return s.escapedString(start)
		case c < utf8.RuneSelf:
			return "", errControl
		default:
			r, n := utf8.DecodeRuneInString(s.data[s.pos:])
			if r == utf8.RuneError && n == 1 {
				return "", errUTF8
			}
			s.pos += n
		}
	}
	return "", errSyntax
}

// escapedString finishes a string that holds an escape, unescaping into
// s.buf. Every escape that stands for a control character is refused, as are
// unpaired surrogates (RFC 8259 section 8.2), which encoding/json would
// silently turn into U+FFFD.
func (s *scanner) escapedString(start int) (string, error) {
	buf := append(s.buf[:0], s.data[start:s.pos]...)
	for s.pos < len(s.data) {
		c := s.data[s.pos]
		switch {
		case c == '"':
			s.pos++
			s.buf = buf
			return string(buf), nil
		case c == '\\':
			if s.pos+1 >= len(s.data) {
				return "", errSyntax
			}
			e := s.data[s.pos+1]
			s.pos += 2
			switch e {
			case '"', '\\', '/':
				buf = append(buf, e)
			case 'b', 'f', 'n', 'r', 't':
				return "", errControl
			case 'u':
				r, err := s.escapedRune()
				if err != nil {
					return "", err
				}
				buf = utf8.AppendRune(buf, r)
			default:
				return "", errSyntax
			}
		case c < 0x20 || c == 0x7f:
			return "", errControl
		case c < utf8.RuneSelf:
			buf = append(buf, c)
			s.pos++
		default:
			r, n := utf8.DecodeRuneInString(s.data[s.pos:])
			if r == utf8.RuneError && n == 1 {
				return "", errUTF8
			}
			buf = append(buf, s.data[s.pos:s.pos+n]...)
			s.pos += n
		}
	}
	return "", errSyntax
}

// escapedRune reads the XXXX of a \uXXXX escape, and the low half that must
// follow a high surrogate.
func (s *scanner) escapedRune() (rune, error) {
	r, ok := s.hex4()
	if !ok {
		return 0, errSyntax
	}
	if utf16.IsSurrogate(r) {
		if r >= 0xdc00 || !s.consume('\\') || !s.consume('u') {
			return 0, errSurrogate
		}
		low, ok := s.hex4()
		if !ok {
			return 0, errSyntax
		}
		if r = utf16.DecodeRune(r, low); r == utf8.RuneError {
			return 0, errSurrogate
		}
	}
	if r < 0x20 || r == 0x7f {
		return 0, errControl
	}
	return r, nil
}

func (s *scanner) hex4() (rune, bool) {
	if len(s.data)-s.pos < 4 {
		return 0, false
	}
	var r rune
	for _, c := range s.data[s.pos : s.pos+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c -= 'a' - 10
		case c >= 'A' && c <= 'F':
			c -= 'A' - 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	s.pos += 4
	return r, true
}

// strings reads an array of strings. An empty array gives an empty, non-nil
// slice, as encoding/json does.
func (s *scanner) strings() ([]string, error) {
	if !s.consume('[') {
		return nil, errNotStrings
	}
	out := make([]string, 0, 4)
	s.space()
	if s.consume(']') {
		return out, nil
	}
	for {
		s.space()
		if s.peek() != '"' {
			return nil, errNotStrings
		}
		v, err := s.string()
		if err != nil {
			return nil, err
		}
		out = append(out, v)
		s.space()
		if s.consume(']') {
			return out, nil
		}
		if !s.consume(',') {
			return nil, errSyntax
		}
	}
}

// audience reads aud, which RFC 7519 section 4.1.3 allows as one string or
// an array of strings.
func (s *scanner) audience() (jwt.ClaimStrings, error) {
	switch s.peek() {
	case '"':
		v, err := s.string()
		if err != nil {
			return nil, err
		}
		return jwt.ClaimStrings{v}, nil
	case '[':
		v, err := s.strings()
		if len(v) == 0 {
			return nil, err // as golang-jwt decodes [], so that both read alike
		}
		return jwt.ClaimStrings(v), err
	}
	return nil, errNotAud
}

func (s *scanner) boolean() (bool, error) {
	rest := s.data[s.pos:]
	switch {
	case strings.HasPrefix(rest, "true"):
		s.pos += 4
		return true, nil
	case strings.HasPrefix(rest, "false"):
		s.pos += 5
		return false, nil
	}
	return false, errNotBool
}

// numericDate reads a NumericDate (RFC 7519 section 2): a JSON number of
// seconds since the epoch, possibly with a fraction. It makes the same
// jwt.NumericDate golang-jwt's own decoding makes, truncated to
// jwt.TimePrecision.
func (s *scanner) numericDate() (*jwt.NumericDate, error) {
	start := s.pos
	integer := true
	s.consume('-')
	switch c := s.peek(); {
	case c == '0':
		s.pos++
	case c >= '1' && c <= '9':
		s.digits()
	default:
		return nil, errNotNumber
	}
	if s.consume('.') {
		integer = false
		if !s.digits() {
			return nil, errSyntax
		}
	}
	if s.consume('e') || s.consume('E') {
		integer = false
		if !s.consume('+') {
			s.consume('-')
		}
		if !s.digits() {
			return nil, errSyntax
		}
	}
	text := s.data[start:s.pos]
	if integer && len(text) <= 15 && text[0] != '-' {
		var n int64
		for _, c := range text {
			n = n*10 + int64(c-'0')
		}
		if n > maxNumericDate {
			return nil, errDateRange
		}
		return jwt.NewNumericDate(time.Unix(n, 0)), nil
	}
	f, err := strconv.ParseFloat(text, 64)
	if err != nil || f < 0 || f > maxNumericDate {
		return nil, errDateRange
	}
	whole, frac := math.Modf(f)
	return jwt.NewNumericDate(time.Unix(int64(whole), int64(frac*1e9))), nil
}

// digits consumes one or more decimal digits and reports whether there was
// at least one.
func (s *scanner) digits() bool {
	start := s.pos
	for s.pos < len(s.data) && s.data[s.pos] >= '0' && s.data[s.pos] <= '9' {
		s.pos++
	}
	return s.pos > start
}

// typAllowed reports whether typ names an access token: "at+jwt" or its
// full media type "application/at+jwt", case-insensitively (RFC 9068
// section 2.1, RFC 7515 section 4.1.9).
func typAllowed(typ string) bool {
	return strings.EqualFold(typ, TokenType) || strings.EqualFold(typ, "application/"+TokenType)
}
