//go:build linux

// Package cputime reads the CPU time of the calling OS thread, for
// benchmarks that must hold on a shared machine: unlike wall time, it does
// not grow while the scheduler runs other processes. Lock the goroutine to
// its thread (runtime.LockOSThread) around what is measured.
package cputime

import (
	"syscall"
	"testing"
	"time"
	"unsafe"
)

// Thread returns the CPU time the calling OS thread has consumed
// (clock_gettime CLOCK_THREAD_CPUTIME_ID).
func Thread() (time.Duration, error) {
	const clockThreadCPUTimeID = 3
	var ts syscall.Timespec
	if _, _, errno := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockThreadCPUTimeID, uintptr(unsafe.Pointer(&ts)), 0); errno != 0 {
		return 0, errno
	}
	return time.Duration(ts.Nano()), nil
}

// Of is Thread for a benchmark: it stops tb when the clock cannot be read.
func Of(tb testing.TB) time.Duration {
	tb.Helper()
	d, err := Thread()
	if err != nil {
		tb.Fatalf("clock_gettime: %v", err)
	}
	return d
}
