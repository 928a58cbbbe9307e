package accesstoken

import (
	"encoding/base64"
	"testing"
)

// BenchmarkStrictDecode is the cost of everything Parse does besides the
// signature and the validator: the size and shape checks, base64url of the
// three segments and the strict scan of the header and the claims of a
// typical token.
func BenchmarkStrictDecode(b *testing.B) {
	enc := base64.RawURLEncoding
	header := enc.EncodeToString([]byte(`{"alg":"RS256","kid":"3h4sqGHPoIAroVSeGe_JThibCOb6xTx1V2m2fPStNw4","typ":"at+jwt"}`))
	payload := enc.EncodeToString([]byte(`{"iss":"http://localhost:8001","sub":"7f1c2a4e-0000-4000-8000-000000000001","aud":["medinsights"],` +
		`"exp":1795000900,"nbf":1795000000,"iat":1795000000,"jti":"0b6f3c8e-1111-4000-8000-000000000002",` +
		`"sid":"0b6f3c8e-2222-4000-8000-000000000003","roles":["patient","clinician"],"username":"alice@example.org","email_verified":true}`))
	token := header + "." + payload + "." + enc.EncodeToString(make([]byte, 256))
	for b.Loop() {
		t, err := open(token)
		if err != nil {
			b.Fatal(err)
		}
		var c Claims
		if err := decodeClaims(t.payload, &c); err != nil {
			b.Fatal(err)
		}
	}
}
