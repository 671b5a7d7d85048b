package testutil

import (
	"fmt"
	"testing"
)

// MemTruth is one "TRUTH ..." line of testdata/targets/memgrow: the
// target's own runtime.MemStats and NumGoroutine at a pause point.
type MemTruth struct {
	NumGC, PauseTotal, LastPause, P99, HeapInuse, NextGC, HeapAlloc, Goroutines uint64
}

// ParseMemTruth parses a TRUTH line (without its "TRUTH " prefix) and
// fails the test if it is malformed.
func ParseMemTruth(tb testing.TB, s string) MemTruth {
	tb.Helper()
	var m MemTruth
	if _, err := fmt.Sscanf(s, "numgc=%d pause_total_ns=%d last_pause_ns=%d pause_p99_ns=%d heap_inuse=%d next_gc=%d heap_alloc=%d goroutines=%d",
		&m.NumGC, &m.PauseTotal, &m.LastPause, &m.P99, &m.HeapInuse, &m.NextGC, &m.HeapAlloc, &m.Goroutines); err != nil {
		tb.Fatalf("TRUTH line %q: %v", s, err)
	}
	return m
}
