package blocklist_test

import (
	"bufio"
	"crypto/sha1"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/medinsights/auth/issuer/internal/blocklist"
)

// compile writes input to a file, compiles it and opens the result.
func compile(t testing.TB, input string) (*blocklist.List, string, blocklist.Stats) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "blocklist.bin")
	out, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	st, err := blocklist.Compile(strings.NewReader(input), out)
	if err != nil {
		t.Fatal(err)
	}
	l, err := blocklist.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l, path, st
}

func sha1Hex(s string) string {
	sum := sha1.Sum([]byte(s))
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

func TestCompileAndLookUp(t *testing.T) {
	t.Parallel()
	listed := []string{"correct horse battery staple", "Tr0ub4dor&3", "hunter2hunter2", "1234567890ab"}
	tests := map[string]string{}
	// The Pwned Passwords form (sorted, HEX:COUNT), bare hashes in any
	// order and case, and plain passwords: each compiles to the same list.
	var pwned, bare, plain []string
	for _, p := range listed {
		pwned = append(pwned, sha1Hex(p)+":"+strconv.Itoa(len(p)))
		bare = append(bare, strings.ToLower(sha1Hex(p)))
		plain = append(plain, p)
	}
	sortStrings(pwned)
	tests["pwned passwords, sorted"] = strings.Join(pwned, "\r\n") + "\r\n"
	tests["bare hashes, unsorted, with a duplicate and a blank line"] = strings.Join(append(bare, bare[0], ""), "\n")
	tests["plain passwords"] = strings.Join(plain, "\n")
	for name, input := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			l, _, st := compile(t, input)
			if l.Len() != len(listed) || st.Entries != len(listed) {
				t.Fatalf("%d entries (stats %+v), want %d", l.Len(), st, len(listed))
			}
			for _, p := range listed {
				if !l.Contains(p) {
					t.Errorf("%q not found", p)
				}
			}
			for _, p := range []string{"correct horse battery stapler", "", "Tr0ub4dor&4"} {
				if l.Contains(p) {
					t.Errorf("%q found", p)
				}
			}
		})
	}
}

func sortStrings(s []string) {
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
}

// A generated list of 20,000 passwords in random order: every one is
// found, and none of 20,000 others is.
func TestGeneratedList(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	for i := range 20000 {
		fmt.Fprintf(&b, "listed-password-%d\n", (i*7919)%20000)
	}
	l, _, _ := compile(t, b.String())
	for i := range 20000 {
		if !l.Contains(fmt.Sprintf("listed-password-%d", i)) {
			t.Fatalf("listed-password-%d not found", i)
		}
		if l.Contains(fmt.Sprintf("unlisted-password-%d", i)) {
			t.Fatalf("unlisted-password-%d found", i)
		}
	}
}

func TestEmptyList(t *testing.T) {
	t.Parallel()
	l, _, _ := compile(t, "\n\n")
	if l.Len() != 0 || l.Contains("anything at all") {
		t.Fatal("an empty list holds something")
	}
}

// Every way a file can be damaged is refused by Open with ErrCorrupt.
func TestOpenRefusesCorruptFiles(t *testing.T) {
	t.Parallel()
	_, path, _ := compile(t, "one password\ntwo passwords\nthree passwords\n")
	good, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		edit func([]byte) []byte
	}{
		{name: "empty", edit: func([]byte) []byte { return nil }},
		{name: "not a blocklist", edit: func([]byte) []byte { return []byte(strings.Repeat("5BAA61E4C9B93F3F0682250B6CF8331B7EE68FD8:3\n", 2)) }},
		{name: "cut short", edit: func(b []byte) []byte { return b[:len(b)-3] }},
		{name: "longer than its header says", edit: func(b []byte) []byte { return append(b, 0, 0, 0, 0, 0, 0, 0, 0) }},
		{name: "an entry flipped", edit: func(b []byte) []byte { b[40] ^= 1; return b }},
		{name: "the count changed", edit: func(b []byte) []byte { b[16]++; return b }},
		{name: "another version", edit: func(b []byte) []byte { b[8] = 2; return b }},
		{name: "entries out of order, checksum fixed", edit: func(b []byte) []byte {
			e := b[32:]
			copy(e[0:8], e[16:24]) // first = last: not strictly increasing
			return withEntryCRC(b)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			bad := filepath.Join(t.TempDir(), "bad.bin")
			if err := os.WriteFile(bad, tt.edit(append([]byte(nil), good...)), 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := blocklist.Open(bad); !errors.Is(err, blocklist.ErrCorrupt) {
				t.Fatalf("Open: %v, want ErrCorrupt", err)
			}
		})
	}
	if _, err := blocklist.Open(filepath.Join(t.TempDir(), "missing.bin")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
}

// withEntryCRC recomputes the checksums of a blocklist file in b, as a
// careless writer would, so that only the order check can catch it.
func withEntryCRC(b []byte) []byte {
	table := crc32.MakeTable(crc32.Castagnoli)
	binary.LittleEndian.PutUint32(b[24:], crc32.Checksum(b[32:], table))
	binary.LittleEndian.PutUint32(b[28:], crc32.Checksum(b[:28], table))
	return b
}

// BenchmarkLookup is Contains on a list of 10 million entries generated into
// a temporary directory in the Pwned Passwords form (HEX:COUNT, in hash
// order): ns/op is one lookup's wall time and cpu-ns/op its CPU time (goal:
// under 20 µs; on a shared machine the CPU time is the steadier figure).
// It reports this process's resident memory before the list is opened and
// after a million lookups, split into anonymous memory (the heap: it must
// not grow with the list) and mapped file pages (the kernel's page cache,
// shared and dropped under memory pressure).
func BenchmarkLookup(b *testing.B) {
	const entries = 10_000_000
	dir := b.TempDir()
	input := filepath.Join(dir, "input.txt")
	f, err := os.Create(input)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	rng := rand.New(rand.NewPCG(1, 2))
	var sum [sha1.Size]byte
	step := ^uint64(0) / entries
	for i := range uint64(entries) {
		binary.BigEndian.PutUint64(sum[:], i*step+rng.Uint64N(step))
		for j := 8; j < len(sum); j++ {
			sum[j] = byte(rng.Uint32())
		}
		fmt.Fprintf(w, "%X:%d\n", sum, rng.IntN(1000)+1)
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
	_ = f.Close()
	in, err := os.Open(input)
	if err != nil {
		b.Fatal(err)
	}
	defer in.Close()
	path := filepath.Join(dir, "blocklist.bin")
	out, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := blocklist.Compile(in, out); err != nil {
		b.Fatal(err)
	}
	_ = out.Close()
	_ = os.Remove(input)

	runtime.GC()
	before := readRSS(b)
	l, err := blocklist.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	opened := readRSS(b)
	passwords := make([]string, 1024)
	for i := range passwords {
		passwords[i] = fmt.Sprintf("a password nobody listed %d", i)
	}
	for i := range 1_000_000 {
		l.Contains(passwords[i%len(passwords)] + strconv.Itoa(i))
	}
	after := readRSS(b)
	i := 0
	cpu := processCPU()
	for b.Loop() {
		l.Contains(passwords[i%len(passwords)])
		i++
	}
	cpu = processCPU() - cpu
	st, _ := os.Stat(path)
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/op")
	b.ReportMetric(float64(l.Len()), "entries")
	b.ReportMetric(float64(st.Size())/(1<<20), "file-MiB")
	b.ReportMetric(float64(opened.anon-before.anon)/(1<<10), "anon-MiB-at-open")
	b.ReportMetric(float64(after.anon-before.anon)/(1<<10), "anon-MiB-after-1M-lookups")
	b.ReportMetric(float64(after.file-before.file)/(1<<10), "file-pages-MiB-after-1M-lookups")
	b.ReportMetric(float64(after.rss-before.rss)/(1<<10), "VmRSS-MiB-growth")
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

type rss struct{ rss, anon, file int64 } // KiB

func readRSS(b *testing.B) rss {
	b.Helper()
	raw, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Fatalf("read /proc/self/status: %v", err)
	}
	var r rss
	for line := range strings.SplitSeq(string(raw), "\n") {
		k, v, _ := strings.Cut(line, ":")
		n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch k {
		case "VmRSS":
			r.rss = n
		case "RssAnon":
			r.anon = n
		case "RssFile":
			r.file = n
		}
	}
	return r
}
