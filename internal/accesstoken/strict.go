package accesstoken

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

type claimKind uint8

const (
	kindString claimKind = iota
	kindNumber
	kindBool
	kindAudience
	kindStringArray
)

// headerNames lists the only JOSE header parameters a token may carry. crit,
// jku, x5u, jwk, x5c and every other parameter are refused: a verifier that
// honoured them could be pointed at a key of the attacker's choosing
// (RFC 8725 section 3.10), and this project never emits them.
var headerNames = map[string]claimKind{
	"alg": kindString,
	"typ": kindString,
	"kid": kindString,
}

// precheck refuses a token whose size or characters are wrong before any
// decoding happens: at most MaxTokenSize bytes of base64url characters in
// exactly three non-empty segments.
func precheck(token string) error {
	if len(token) == 0 || len(token) > MaxTokenSize {
		return fmt.Errorf("%w: length %d", ErrMalformed, len(token))
	}
	dots := 0
	for i := 0; i < len(token); i++ {
		c := token[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_':
		case c == '.':
			dots++
			if i == 0 || i == len(token)-1 || token[i-1] == '.' {
				return fmt.Errorf("%w: empty segment", ErrMalformed)
			}
		default:
			return fmt.Errorf("%w: character outside base64url", ErrMalformed)
		}
	}
	if dots != 2 {
		return fmt.Errorf("%w: %d segments", ErrMalformed, dots+1)
	}
	return nil
}

// decodeSegment decodes one base64url segment, refusing padding and
// non-canonical encodings (trailing bits that are not zero).
func decodeSegment(seg string) ([]byte, error) {
	b, err := base64.RawURLEncoding.Strict().DecodeString(seg)
	if err != nil {
		return nil, fmt.Errorf("%w: segment is not canonical base64url", ErrMalformed)
	}
	return b, nil
}

// checkObject reads a JSON object and refuses what encoding/json would let
// through: a duplicate name, a name outside allowed (including one that only
// differs in case), a value of the wrong JSON type, a control character inside
// a string, and anything after the object.
func checkObject(data []byte, allowed map[string]claimKind, what error) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return fmt.Errorf("%w: not a JSON object", ErrMalformed)
	}
	seen := make(map[string]bool, len(allowed))
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fmt.Errorf("%w: invalid JSON", ErrMalformed)
		}
		name := tok.(string) // object keys are always strings
		kind, ok := allowed[name]
		if !ok {
			return fmt.Errorf("%w: %q is not allowed", what, name)
		}
		if seen[name] {
			return fmt.Errorf("%w: %q appears twice", ErrMalformed, name)
		}
		seen[name] = true
		if err := checkValue(dec, kind); err != nil {
			return fmt.Errorf("%w: %q: %s", ErrMalformed, name, err)
		}
	}
	if _, err := dec.Token(); err != nil {
		return fmt.Errorf("%w: invalid JSON", ErrMalformed)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("%w: data after the JSON object", ErrMalformed)
	}
	return nil
}

func checkValue(dec *json.Decoder, kind claimKind) error {
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("invalid JSON")
	}
	switch kind {
	case kindString:
		return checkString(tok)
	case kindNumber:
		if _, ok := tok.(json.Number); !ok {
			return fmt.Errorf("is not a number")
		}
		return nil
	case kindBool:
		if _, ok := tok.(bool); !ok {
			return fmt.Errorf("is not a boolean")
		}
		return nil
	case kindAudience:
		if _, ok := tok.(string); ok {
			return checkString(tok)
		}
		fallthrough
	case kindStringArray:
		if tok != json.Delim('[') {
			return fmt.Errorf("is not an array of strings")
		}
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				return fmt.Errorf("invalid JSON")
			}
			if err := checkString(tok); err != nil {
				return err
			}
		}
		if _, err := dec.Token(); err != nil {
			return fmt.Errorf("invalid JSON")
		}
		return nil
	}
	return fmt.Errorf("unknown kind")
}

func checkString(tok json.Token) error {
	s, ok := tok.(string)
	if !ok {
		return fmt.Errorf("is not a string")
	}
	if strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return fmt.Errorf("holds a control character")
	}
	return nil
}
