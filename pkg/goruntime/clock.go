package goruntime

import (
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// MonotonicNow returns CLOCK_MONOTONIC in nanoseconds: the clock of the Go
// runtime's nanotime, comparable with Goroutine.WaitSince of any process on
// the machine.
func MonotonicNow() (int64, error) {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return 0, fmt.Errorf("reading CLOCK_MONOTONIC: %w", err)
	}
	return ts.Nano(), nil
}

// Blocked returns how long the goroutine has been blocked at least, as of
// now (MonotonicNow): now - WaitSince. WaitSince is the start of the GC
// during which it blocked, so this is a lower bound (the runtime prints it
// in whole minutes). ok is false while WaitSince is unknown.
func (g *Goroutine) Blocked(now int64) (d time.Duration, ok bool) {
	if !g.WaitSince.Known || now < g.WaitSince.V {
		return 0, false
	}
	return time.Duration(now - g.WaitSince.V), true
}
