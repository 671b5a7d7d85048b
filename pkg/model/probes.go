package model

// Alloc is what the opt-in allocation probes saw since attach.
type Alloc struct {
	// Enabled lists the probes that are attached; Detached those the
	// overhead governor removed, with why.
	Enabled  []string          `json:"enabled"`
	Detached map[string]string `json:"detached,omitempty"`
	// OverheadRatio is the governor's estimate: hits × per-hit cost / wall time.
	OverheadRatio float64     `json:"overhead_ratio"`
	Hits          uint64      `json:"hits"`
	TopSites      []AllocSite `json:"top_sites"`
}

// AllocSite is one allocating call stack.
type AllocSite struct {
	Stack []string `json:"stack"`
	Hits  uint64   `json:"hits"`
	Bytes uint64   `json:"bytes"`
}

// Trace is what the opt-in per-object and per-GC probes (--trace-finalizers,
// --trace-gc) report about themselves.
type Trace struct {
	// Enabled lists the attached probe points; Detached those the overhead
	// governor removed, with why.
	Enabled  []string          `json:"enabled"`
	Detached map[string]string `json:"detached,omitempty"`
	// OverheadRatio is the governor's estimate of the probes' cost over
	// the last sample interval, in CPUs: hits × per-hit cost / wall time.
	OverheadRatio float64 `json:"overhead_ratio"`
}
