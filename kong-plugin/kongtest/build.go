package kongtest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// BinDirEnv names the directory holding binaries built with the release
// flags (`make test` sets it to bin/ after `make build`). When it is unset,
// the harness builds what it needs once per test process.
const BinDirEnv = "MEDINSIGHTS_BIN_DIR"

const module = "github.com/medinsights/auth"

// The flags of `make build`, so tests run what ships.
var buildFlags = []string{"-trimpath", "-ldflags",
	"-s -w -X " + module + "/internal/version.Version=0.1.0 -X " + module + "/internal/version.Commit=kongtest"}

var (
	buildMu  sync.Mutex
	buildDir string
	built    = map[string]string{}
)

// PluginBinary returns the medinsights-auth plugin server under test.
func PluginBinary(t testing.TB) string {
	t.Helper()
	return locate(t, "medinsights-auth", "./kong-plugin/cmd/medinsights-auth", true)
}

// IssuerBinary returns the issuer binary.
func IssuerBinary(t testing.TB) string {
	t.Helper()
	return locate(t, "issuer", "./issuer/cmd/issuer", true)
}

// FloorBinary returns the do-nothing plugin server that reads one header:
// the floor the plugin's socket throughput is measured against. It is never
// shipped, so it is always built here.
func FloorBinary(t testing.TB) string {
	t.Helper()
	return locate(t, "medinsights-floor", "./kong-plugin/kongtest/floor", false)
}

// locate returns $MEDINSIGHTS_BIN_DIR/name when allowed and set, else builds
// pkg once per process with the release flags.
func locate(t testing.TB, name, pkg string, fromEnv bool) string {
	t.Helper()
	if dir := os.Getenv(BinDirEnv); dir != "" && fromEnv {
		p := filepath.Join(dir, name)
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%s=%s but %s is missing: run `make build`", BinDirEnv, dir, p)
		}
		return p
	}
	buildMu.Lock()
	defer buildMu.Unlock()
	if p, ok := built[name]; ok {
		return p
	}
	if buildDir == "" {
		d, err := os.MkdirTemp("", "kongtest-bin-")
		if err != nil {
			t.Fatalf("make build dir: %v", err)
		}
		buildDir = d
	}
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(buildDir, name)
	args := append([]string{"build"}, buildFlags...)
	args = append(args, "-o", out, pkg)
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOTOOLCHAIN=local")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
	built[name] = out
	return out
}

func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("find module root: %w", err)
	}
	gomod := strings.TrimSpace(string(bytes.TrimSpace(out)))
	if gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("find module root: not inside module %s", module)
	}
	return filepath.Dir(gomod), nil
}

// Main runs the tests of a package using the harness and removes the
// binaries it built: call it from TestMain as os.Exit(kongtest.Main(m)).
func Main(m *testing.M) int {
	code := m.Run()
	buildMu.Lock()
	if buildDir != "" {
		_ = os.RemoveAll(buildDir)
	}
	buildMu.Unlock()
	return code
}
