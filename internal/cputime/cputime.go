//go:build linux

// Package cputime compares pieces of work by the CPU time of the calling OS
// thread, for benchmarks that must hold on a shared machine: unlike wall
// time, it does not grow while the scheduler runs other processes.
package cputime

import (
	"runtime"
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// thread returns the CPU time the calling OS thread has consumed
// (clock_gettime CLOCK_THREAD_CPUTIME_ID).
func thread() (time.Duration, error) {
	const clockThreadCPUTimeID = 3
	var ts syscall.Timespec
	if _, _, errno := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockThreadCPUTimeID, uintptr(unsafe.Pointer(&ts)), 0); errno != 0 {
		return 0, errno
	}
	return time.Duration(ts.Nano()), nil
}

// of is thread for a benchmark: it stops tb when the clock cannot be read.
func of(tb testing.TB) time.Duration {
	tb.Helper()
	d, err := thread()
	if err != nil {
		tb.Fatalf("clock_gettime: %v", err)
	}
	return d
}

// Alternate measures two pieces of work against each other on a shared
// machine: on each iteration of b.Loop it calls first block times, then
// second block times, on one locked OS thread, reading the thread's CPU
// clock around each block, so both see the same moments of load. It
// returns each one's CPU time per call, in nanoseconds.
func Alternate(b *testing.B, block int, first, second func()) (firstNs, secondNs float64) {
	b.Helper()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var a, c time.Duration
	for b.Loop() {
		start := of(b)
		for range block {
			first()
		}
		mid := of(b)
		for range block {
			second()
		}
		a += mid - start
		c += of(b) - mid
	}
	n := float64(b.N * block)
	return float64(a) / n, float64(c) / n
}
