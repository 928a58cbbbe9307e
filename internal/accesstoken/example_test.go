package accesstoken_test

import (
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/medinsights/auth/internal/accesstoken"
)

func Example() {
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	kid := accesstoken.Thumbprint(&key.PublicKey)
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

	token, _ := accesstoken.Sign(key, kid, &accesstoken.Claims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer:    "http://localhost:8001",
			Subject:   "7f1c2a4e-0000-4000-8000-000000000001",
			Audience:  jwt.ClaimStrings{"medinsights"},
			ExpiresAt: jwt.NewNumericDate(now.Add(15 * time.Minute)),
			IssuedAt:  jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now),
			ID:        "jti-1",
		},
		SessionID: "0b6f3c8e-2222-4000-8000-000000000003",
		Roles:     []string{"patient"},
		Username:  "alice",
	})

	parser, _ := accesstoken.NewParser(accesstoken.Options{
		Issuer:      "http://localhost:8001",
		Audiences:   []string{"medinsights"},
		Leeway:      30 * time.Second,
		MaxLifetime: 15 * time.Minute,
		Now:         func() time.Time { return now.Add(time.Minute) },
	})
	keys := accesstoken.KeySet{kid: &key.PublicKey}

	claims, err := parser.Parse(token, keys)
	fmt.Println(claims.Username, claims.Roles, claims.SessionID, err)

	_, err = parser.Parse(token, accesstoken.KeySet{})
	fmt.Println(errors.Is(err, accesstoken.ErrUnknownKey))
	// Output:
	// alice [patient] 0b6f3c8e-2222-4000-8000-000000000003 <nil>
	// true
}
