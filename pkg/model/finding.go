package model

import "time"

// Finding is a diagnosis: something is wrong with the process's memory.
type Finding struct {
	Kind     string         `json:"kind"`
	Severity string         `json:"severity"`
	Since    time.Time      `json:"since"`
	Summary  string         `json:"summary"`
	Evidence map[string]any `json:"evidence"`
}

// Finding kinds (Finding.Kind), each found by a detector of pkg/detect.
const (
	KindFinalizerStall   = "finalizer_stall"
	KindFinalizerBacklog = "finalizer_backlog"
	KindCleanupStall     = "cleanup_stall"

	KindRSSGrowth         = "rss_growth"
	KindHeapGrowth        = "heap_growth"
	KindGoroutineGrowth   = "goroutine_growth"
	KindFDGrowth          = "fd_growth"
	KindGCPauseRegression = "gc_pause_regression"

	// KindGoroutineLeak: goroutines blocked forever on a channel or sync
	// primitive nothing live can reach, as the goroutine-leak verdict
	// proved (Sample.GoroutineLeaks, with --leak-scan).
	KindGoroutineLeak = "goroutine_leak"
)

// Severities (Finding.Severity).
const (
	SeverityWarning  = "warning"
	SeverityCritical = "critical"
)
