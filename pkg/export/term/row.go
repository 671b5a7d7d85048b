package term

import (
	"cmp"
	"slices"
	"time"

	"github.com/memsight/memsight/pkg/model"
)

// Row is one process of the table; it is also the JSON form of a frame's
// process (-o json). Pointers are nil when the value is unknown. Strings are
// as the source gave them: Render cleans them, JSON escapes them.
type Row struct {
	PID       int     `json:"pid"`
	Comm      string  `json:"comm"`
	Namespace string  `json:"namespace,omitempty"`
	Pod       string  `json:"pod,omitempty"`
	GoVersion string  `json:"go_version"`
	State     string  `json:"state"`
	Reason    string  `json:"reason,omitempty"`
	RSSBytes  *uint64 `json:"rss_bytes"`
	// RSSPerHour is the detector's least-squares RSS growth when it has
	// one (RSSRateSource "fit"), else top's own estimate since it first saw
	// the process ("top"); nil before either.
	RSSPerHour    *float64 `json:"rss_bytes_per_hour"`
	RSSRateSource string   `json:"rss_rate_source,omitempty"`
	HeapBytes     *uint64  `json:"heap_inuse_bytes"`
	Goroutines    *int     `json:"goroutines"`
	FinQueue      *int64   `json:"finalizer_queue"`
	// FinRunning is how long the running finalizer has run (nil: none):
	// as model.Running.Seconds, or the runtime's wait time when that is
	// only the time since attach; FinRunningAtLeast marks a lower bound.
	FinRunning        *float64 `json:"finalizer_running_seconds"`
	FinRunningAtLeast bool     `json:"finalizer_running_at_least,omitempty"`
	Findings          []string `json:"findings"` // kinds, critical first
}

// Rows returns the view's processes as rows, in the order o.Sort asks.
func Rows(v View, o Options) []Row {
	o = o.withDefaults()
	rows := make([]Row, 0, len(v.Processes))
	for _, p := range v.Processes {
		rows = append(rows, row(p, o.History))
	}
	slices.SortStableFunc(rows, func(a, b Row) int {
		if o.Sort == SortPID {
			return cmp.Compare(a.PID, b.PID)
		}
		ka, oka := key(a, o.Sort)
		kb, okb := key(b, o.Sort)
		switch {
		case oka != okb: // known values first
			if oka {
				return -1
			}
			return 1
		case ka != kb:
			return cmp.Compare(kb, ka)
		}
		return cmp.Compare(a.PID, b.PID)
	})
	return rows
}

// key is a row's sort value, ok false when unknown.
func key(r Row, s Sort) (float64, bool) {
	switch s {
	case SortHeap:
		if r.HeapBytes != nil {
			return float64(*r.HeapBytes), true
		}
	case SortFinQ:
		if r.FinQueue != nil {
			return float64(*r.FinQueue), true
		}
	case SortGoroutines:
		if r.Goroutines != nil {
			return float64(*r.Goroutines), true
		}
	default:
		if r.RSSBytes != nil {
			return float64(*r.RSSBytes), true
		}
	}
	return 0, false
}

func row(p model.Process, h *History) Row {
	r := Row{PID: p.PID, Comm: p.Comm, Namespace: p.Namespace, Pod: p.Pod, GoVersion: p.GoVersion,
		State: p.State, Reason: p.Reason, Findings: []string{}}
	s := p.Sample
	if s == nil {
		return r
	}
	r.RSSBytes = ptr(s.RSSBytes)
	if sl := s.RSS.SlopeBytesPerHour; sl != nil {
		r.RSSPerHour, r.RSSRateSource = ptr(*sl), "fit"
	} else if rate, ok := h.rate(p); ok {
		r.RSSPerHour, r.RSSRateSource = ptr(rate), "top"
	}
	if s.Heap != nil {
		r.HeapBytes = ptr(s.Heap.InuseBytes)
	}
	if s.Goroutines != nil {
		r.Goroutines = ptr(s.Goroutines.Total)
	}
	if q := s.Finalizers.QueueLength; q != nil {
		r.FinQueue = ptr(*q)
	}
	if run := s.Finalizers.Running; run != nil {
		r.FinRunning, r.FinRunningAtLeast = ptr(run.Seconds), run.AtLeast
		// Running since before attach and blocked: the runtime's own wait
		// time says more than "≥ the time since attach" (the detector
		// uses it from the next sample on).
		if g := s.Finalizers.Goroutine; run.AtLeast && run.State == "blocked" && g != nil && g.WaitSeconds != nil && *g.WaitSeconds > run.Seconds {
			r.FinRunning, r.FinRunningAtLeast = ptr(*g.WaitSeconds), false
		}
	}
	for _, f := range s.Findings {
		if f.Severity == model.SeverityCritical {
			r.Findings = append(r.Findings, f.Kind)
		}
	}
	for _, f := range s.Findings {
		if f.Severity != model.SeverityCritical {
			r.Findings = append(r.Findings, f.Kind)
		}
	}
	return r
}

func ptr[T any](v T) *T { return &v }

// History remembers the first RSS top saw of each process, for a
// short-term RSS/h before the detector's fit (half its growth window) is
// ready. The zero value is not usable: use NewHistory.
type History struct {
	first map[int]point
}

type point struct {
	comm string
	at   time.Time
	rss  uint64
}

// minRateSpan is the shortest span History estimates a rate over.
const minRateSpan = 10 * time.Second

// NewHistory returns an empty History.
func NewHistory() *History { return &History{first: map[int]point{}} }

// Observe records the processes of v seen for the first time and forgets
// those gone (a PID reused by another comm starts afresh).
func (h *History) Observe(v View) {
	seen := make(map[int]bool, len(v.Processes))
	for _, p := range v.Processes {
		seen[p.PID] = true
		if p.Sample == nil {
			continue
		}
		if f, ok := h.first[p.PID]; ok && f.comm == p.Comm && !p.Sample.Time.Before(f.at) {
			continue
		}
		h.first[p.PID] = point{comm: p.Comm, at: p.Sample.Time, rss: p.Sample.RSSBytes}
	}
	for pid := range h.first {
		if !seen[pid] {
			delete(h.first, pid)
		}
	}
}

// rate is the RSS growth per hour since the first sample h saw of p.
func (h *History) rate(p model.Process) (float64, bool) {
	if h == nil || p.Sample == nil {
		return 0, false
	}
	f, ok := h.first[p.PID]
	if !ok || f.comm != p.Comm {
		return 0, false
	}
	dt := p.Sample.Time.Sub(f.at)
	if dt < minRateSpan {
		return 0, false
	}
	return (float64(p.Sample.RSSBytes) - float64(f.rss)) / dt.Hours(), true
}
