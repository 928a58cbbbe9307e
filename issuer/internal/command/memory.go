package command

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
)

// gcPercent is the garbage collector's target serve sets when GOGC is
// unset: the heap may grow to 1.5 times what is live, not Go's 2 times.
// What is live under login load is mostly the argon2id buffers of the
// hashes in flight, which hold no pointers, so collecting more often costs
// the collector little (measured by e2e BenchmarkLoginMemory); it keeps the
// garbage of finished hashes from doubling the peak.
const gcPercent = 50

// memoryHeadroom is what the issuer needs besides its password hashes: the
// runtime, the connection pool, the HTTP server and the garbage of the
// requests in flight, with room to spare (measured by e2e
// BenchmarkLoginMemory).
const memoryHeadroom = 32 << 20

// memoryLimit is the Go memory limit (debug.SetMemoryLimit) serve sets
// when GOMEMLIMIT is unset: twice what the hashes in flight hold
// (PASSWORD_HASH_CONCURRENCY argon2id computations at once) plus
// memoryHeadroom, and at most 90% of the container's memory limit when it
// has one (cgroupLimit > 0), leaving the rest for what Go does not count
// (thread stacks, the mapped blocklist). It is a backstop above where
// gcPercent keeps the heap: a limit at the heap's own size makes the
// runtime hand the hashes' memory back to the kernel and fault it in again
// for the next hash, about a tenth more CPU per login. The limit is soft:
// Go never fails an allocation because of it.
func memoryLimit(hashing, cgroupLimit int64) int64 {
	limit := 2*hashing + memoryHeadroom
	if cgroupLimit > 0 {
		limit = min(limit, cgroupLimit/10*9)
	}
	return limit
}

// cgroupMemoryLimit reads the memory limit of the process's cgroup under
// root (/sys/fs/cgroup): cgroup v2's memory.max, else cgroup v1's
// memory/memory.limit_in_bytes. Zero when there is none ("max", or v1's
// huge "unlimited" value) or it cannot be read.
func cgroupMemoryLimit(root string) int64 {
	for _, f := range []string{"memory.max", filepath.Join("memory", "memory.limit_in_bytes")} {
		raw, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			continue
		}
		n, err := strconv.ParseInt(string(bytes.TrimSpace(raw)), 10, 64)
		if err != nil || n <= 0 || n >= 1<<62 {
			return 0
		}
		return n
	}
	return 0
}
