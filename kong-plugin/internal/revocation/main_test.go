package revocation

import (
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"

	"github.com/medinsights/auth/kong-plugin/kongtest"
)

func TestMain(m *testing.M) {
	code := kongtest.Main(m) // m.Run, then remove any issuer binary built for the tests
	// The syncers of For belong to the process; stop the ones the tests
	// made so the leak check below sees only real leaks.
	registry.Lock()
	keys := make([]registryKey, 0, len(registry.syncers))
	for key := range registry.syncers {
		keys = append(keys, key)
	}
	registry.Unlock()
	for _, key := range keys {
		forget(key.url, key.token)
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goleak:", err)
			code = 1
		}
	}
	os.Exit(code)
}
