package web

import (
	"slices"
	"strconv"
	"time"
)

// History is the body of GET /api/v1/history.
type History struct {
	Time            time.Time        `json:"time"`
	IntervalSeconds float64          `json:"interval_seconds"`
	WindowSeconds   float64          `json:"window_seconds"`
	Processes       []ProcessHistory `json:"processes"`
}

// ProcessHistory is the recorded history of one process, as columns: the
// i-th entry of each column is the i-th point, oldest first. A value the
// sample did not have is null.
type ProcessHistory struct {
	PID  int    `json:"pid"`
	Comm string `json:"comm"`
	// SeriesStart is when recording of this process began; a client
	// merging incremental responses (since=) starts over when it changes
	// (the PID was reused).
	SeriesStart time.Time `json:"series_start"`
	// T is the time of each point's sample, Unix milliseconds.
	T              []int64 `json:"t"`
	RSSBytes       []Value `json:"rss_bytes"`
	HeapInuseBytes []Value `json:"heap_inuse_bytes"`
	FinalizerQueue []Value `json:"finalizer_queue"`
	Goroutines     []Value `json:"goroutines"`
	FDs            []Value `json:"fds"`
	// Latest holds the values of the process's latest sample at the time
	// of the request (newer than the last recorded point, up to Interval);
	// null when the process has no sample now.
	Latest *Point `json:"latest"`
}

// Point is the values of one sample.
type Point struct {
	T              int64 `json:"t"` // Unix milliseconds
	RSSBytes       Value `json:"rss_bytes"`
	HeapInuseBytes Value `json:"heap_inuse_bytes"`
	FinalizerQueue Value `json:"finalizer_queue"`
	Goroutines     Value `json:"goroutines"`
	FDs            Value `json:"fds"`
}

// Value is one value of a column; negative means unknown, written as JSON null.
type Value int64

// MarshalJSON writes v, or null when unknown.
func (v Value) MarshalJSON() ([]byte, error) {
	if v < 0 {
		return []byte("null"), nil
	}
	return strconv.AppendInt(nil, int64(v), 10), nil
}

// UnmarshalJSON reads a number or null (unknown).
func (v *Value) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*v = unknown
		return nil
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	*v = Value(n)
	return err
}

// History returns the recorded points newer than since (the zero time: all
// of them) of every process, by PID, or of pid only when pid > 0, with each
// process's latest sample from the Source now. A process sampled now but
// not recorded yet has empty columns.
func (r *Recorder) History(pid int, since time.Time) History {
	cut := int64(-1 << 63)
	if !since.IsZero() {
		cut = since.UnixMilli()
	}
	snap := r.src.Snapshot()
	if snap.Time.IsZero() {
		snap.Time = time.Now()
	}
	out := History{
		Time:            snap.Time,
		IntervalSeconds: r.interval.Seconds(),
		WindowSeconds:   r.window.Seconds(),
		Processes:       []ProcessHistory{},
	}
	latest := map[int]*Point{}
	reused := map[int]bool{} // recorded under another executable: not shown
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range snap.Processes {
		if p.Sample == nil || (pid > 0 && p.PID != pid) {
			continue
		}
		pt := pointOf(p.Sample)
		latest[p.PID] = &Point{
			T: pt.t, RSSBytes: Value(pt.rss), HeapInuseBytes: Value(pt.heapInuse),
			FinalizerQueue: Value(pt.finqLen), Goroutines: Value(pt.goroutines), FDs: Value(pt.fds),
		}
		if s := r.procs[p.PID]; s == nil || s.exe != p.Exe || s.comm != p.Comm {
			reused[p.PID] = s != nil
			h := columns(p.PID, &series{comm: p.Comm}, nil)
			h.Latest = latest[p.PID]
			out.Processes = append(out.Processes, h)
		}
	}
	for p, s := range r.procs {
		if (pid > 0 && p != pid) || reused[p] {
			continue
		}
		h := columns(p, s, s.points.after(cut))
		h.Latest = latest[p]
		out.Processes = append(out.Processes, h)
	}
	slices.SortFunc(out.Processes, func(a, b ProcessHistory) int { return a.PID - b.PID })
	return out
}

// columns turns a process's points into a ProcessHistory.
func columns(pid int, s *series, pts []point) ProcessHistory {
	n := len(pts)
	h := ProcessHistory{
		PID: pid, Comm: s.comm, SeriesStart: s.start,
		T: make([]int64, n), RSSBytes: make([]Value, n), HeapInuseBytes: make([]Value, n),
		FinalizerQueue: make([]Value, n), Goroutines: make([]Value, n), FDs: make([]Value, n),
	}
	for i, p := range pts {
		h.T[i] = p.t
		h.RSSBytes[i], h.HeapInuseBytes[i], h.FinalizerQueue[i] = Value(p.rss), Value(p.heapInuse), Value(p.finqLen)
		h.Goroutines[i], h.FDs[i] = Value(p.goroutines), Value(p.fds)
	}
	return h
}
