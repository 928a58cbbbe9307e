package command

import (
	"os"
	"path/filepath"
	"testing"
)

func TestMemoryLimit(t *testing.T) {
	t.Parallel()
	const mib = 1 << 20
	hashing := int64(2 * 12 * mib)
	if got := memoryLimit(hashing, 0); got != 80*mib {
		t.Errorf("no container limit: %d MiB, want twice the hashing + headroom", got/mib)
	}
	if got := memoryLimit(hashing, 60*mib); got != 54*mib {
		t.Errorf("60 MiB container: %d MiB, want 90%% of it", got/mib)
	}
	if got := memoryLimit(hashing, 1024*mib); got != 80*mib {
		t.Errorf("1 GiB container: %d MiB, want twice the hashing + headroom", got/mib)
	}
}

func TestCgroupMemoryLimit(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name, file, content string
		want                int64
	}{
		{name: "v2 limited", file: "memory.max", content: "268435456\n", want: 256 << 20},
		{name: "v2 unlimited", file: "memory.max", content: "max\n", want: 0},
		{name: "v1 limited", file: "memory/memory.limit_in_bytes", content: "134217728\n", want: 128 << 20},
		{name: "v1 unlimited", file: "memory/memory.limit_in_bytes", content: "9223372036854771712\n", want: 0},
		{name: "none", want: 0},
	} {
		root := t.TempDir()
		if c.file != "" {
			p := filepath.Join(root, c.file)
			_ = os.MkdirAll(filepath.Dir(p), 0o755)
			if err := os.WriteFile(p, []byte(c.content), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		if got := cgroupMemoryLimit(root); got != c.want {
			t.Errorf("%s: %d, want %d", c.name, got, c.want)
		}
	}
}
