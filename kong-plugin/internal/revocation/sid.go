package revocation

// sessionID is a session id (a UUID) in its 16 bytes: a compact map key, so a
// set of 100,000 revocations stays a few megabytes.
type sessionID [16]byte

// unhex maps an ASCII byte to its hex value, or to 0xff when it is no hex digit.
var unhex = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = byte(c - '0')
	}
	for c := 'a'; c <= 'f'; c++ {
		t[c] = byte(c - 'a' + 10)
	}
	for c := 'A'; c <= 'F'; c++ {
		t[c] = byte(c - 'A' + 10)
	}
	return t
}()

// uuidHexOffsets are the positions of the 16 hex pairs in the canonical
// 8-4-4-4-12 form of a UUID (RFC 9562, section 4).
var uuidHexOffsets = [16]int{0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34}

// parseSessionID reads a UUID in its canonical 36-character form, either case.
// It allocates nothing: it runs on every request that carries a token.
func parseSessionID[T string | []byte](s T) (id sessionID, ok bool) {
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return id, false
	}
	for i, off := range uuidHexOffsets {
		hi, lo := unhex[s[off]], unhex[s[off+1]]
		if hi|lo > 0x0f { // either one is 0xff
			return id, false
		}
		id[i] = hi<<4 | lo
	}
	return id, true
}

// String returns the canonical lower-case form.
func (id sessionID) String() string {
	const digits = "0123456789abcdef"
	var b [36]byte
	for i, off := range uuidHexOffsets {
		b[off], b[off+1] = digits[id[i]>>4], digits[id[i]&0x0f]
	}
	b[8], b[13], b[18], b[23] = '-', '-', '-', '-'
	return string(b[:])
}
