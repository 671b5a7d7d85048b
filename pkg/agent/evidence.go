package agent

import (
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/memsight/memsight/pkg/goruntime"
	"github.com/memsight/memsight/pkg/observe"
)

// Evidence is what the agent kept of one finding of one process: a
// snapshot when it fired and one when it resolved. It is kept in memory
// only (a restart of the agent loses it), within ProfileConfig's bounds.
type Evidence struct {
	ID      string    `json:"id"`
	PID     int       `json:"pid"`
	Process Process   `json:"process"`
	Kind    string    `json:"kind"`
	Since   time.Time `json:"since"` // when the finding fired
	// Fired is taken when the finding first appears; Resolved when it
	// clears or the process goes (nil while it is active).
	Fired    *EvidenceSnapshot `json:"fired"`
	Resolved *EvidenceSnapshot `json:"resolved"`

	size int64
}

// EvidenceSnapshot is the state of the process at one moment.
type EvidenceSnapshot struct {
	Time time.Time `json:"time"`
	// Finding is the finding as the detector reported it (the stuck stack
	// of a stall is in its evidence and in the sample); at resolution the
	// last one seen.
	Finding observe.Finding `json:"finding"`
	// Sample is the sample that fired (or last saw) the finding: the RSS
	// breakdown, heap, GC, finalizers, the goroutine census summary.
	Sample *observe.Sample `json:"sample"`
	// Goroutines is a census taken for the evidence (counts by status,
	// wait reason and creation site); its stacks are in the goroutine
	// profile.
	Goroutines *goruntime.Census `json:"goroutines,omitempty"`
	// Profiles are gzipped pprof profiles by name: "heap" (when the
	// process records one), "goroutine", and for growth findings
	// "heap_base" (the heap profile at the start of the growth window, as
	// kept by the heap ring) and "heap_diff" (heap minus heap_base: what
	// `go tool pprof -base` shows). Names lists them.
	Profiles map[string][]byte `json:"-"`
	Names    []string          `json:"profiles"`
	// BaseTime is when heap_base was read.
	BaseTime *time.Time `json:"heap_base_time,omitempty"`
	// Errors says why a profile is missing, by name.
	Errors map[string]string `json:"errors,omitempty"`
}

// EvidenceID names the evidence of the finding kind that fired on pid at
// since: outputs that see the finding (webhooks, the API) link to it
// before it is captured.
func EvidenceID(pid int, kind string, since time.Time) string {
	return fmt.Sprintf("%d-%s-%d", pid, kind, since.UnixMilli())
}

// evidenceStore keeps the bundles, bounded per process and in bytes.
type evidenceStore struct {
	mu     sync.Mutex
	max    int64
	perPID int
	bytes  int64
	byID   map[string]*Evidence
	order  []*Evidence // oldest first (by Since)
}

func newEvidenceStore(max int64, perPID int) *evidenceStore {
	return &evidenceStore{max: max, perPID: perPID, byID: map[string]*Evidence{}}
}

// snapshotSize estimates what a snapshot keeps: its profiles, and a few
// KiB for the sample and census.
func snapshotSize(s *EvidenceSnapshot) int64 {
	if s == nil {
		return 0
	}
	n := int64(8 << 10)
	for _, b := range s.Profiles {
		n += int64(len(b))
	}
	return n
}

// fired records a new bundle, evicting the oldest beyond the bounds.
func (st *evidenceStore) fired(ev *Evidence) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if old := st.byID[ev.ID]; old != nil {
		st.removeLocked(old)
	}
	ev.size = snapshotSize(ev.Fired)
	st.byID[ev.ID] = ev
	st.order = append(st.order, ev)
	st.bytes += ev.size
	n := 0
	for i := len(st.order) - 1; i >= 0; i-- {
		if st.order[i].PID == ev.PID {
			if n++; n > st.perPID {
				st.removeLocked(st.order[i])
			}
		}
	}
	st.trimLocked(ev)
}

// resolved adds the resolution snapshot to a bundle; false when the bundle
// is gone (evicted, or never captured).
func (st *evidenceStore) resolved(id string, s *EvidenceSnapshot) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	ev := st.byID[id]
	if ev == nil {
		return false
	}
	n := snapshotSize(s)
	ev.Resolved = s
	ev.size += n
	st.bytes += n
	st.trimLocked(ev)
	return true
}

// trimLocked evicts the oldest bundles while over the byte bound, keeping
// keep (the one just added) if it is alone.
func (st *evidenceStore) trimLocked(keep *Evidence) {
	for st.bytes > st.max && len(st.order) > 0 {
		if st.order[0] == keep && len(st.order) == 1 {
			return
		}
		victim := st.order[0]
		if victim == keep {
			victim = st.order[1]
		}
		st.removeLocked(victim)
	}
}

func (st *evidenceStore) removeLocked(ev *Evidence) {
	for i, e := range st.order {
		if e == ev {
			st.order = append(st.order[:i], st.order[i+1:]...)
			break
		}
	}
	delete(st.byID, ev.ID)
	st.bytes -= ev.size
}

// Evidence returns a bundle by ID. It is shared: do not modify it.
func (a *Agent) Evidence(id string) (*Evidence, bool) {
	st := a.pf.ev
	st.mu.Lock()
	defer st.mu.Unlock()
	ev, ok := st.byID[id]
	return ev, ok
}

// EvidenceList returns the bundles kept, newest first. They are shared:
// do not modify them.
func (a *Agent) EvidenceList() []*Evidence {
	st := a.pf.ev
	st.mu.Lock()
	out := append([]*Evidence(nil), st.order...)
	st.mu.Unlock()
	sort.SliceStable(out, func(i, j int) bool { return out[i].Since.After(out[j].Since) })
	return out
}

// EvidenceStats are the evidence store's and the heap ring's sizes.
type EvidenceStats struct {
	Bundles              int
	Bytes, HeapRingBytes int64
	// Dropped counts findings whose evidence was not captured: the capture
	// queue was full.
	Dropped uint64
}

// EvidenceStats returns the sizes of what the agent keeps for evidence.
func (a *Agent) EvidenceStats() EvidenceStats {
	st := a.pf.ev
	st.mu.Lock()
	s := EvidenceStats{Bundles: len(st.order), Bytes: st.bytes}
	st.mu.Unlock()
	s.HeapRingBytes = a.pf.ring.size()
	s.Dropped = a.pf.dropped.Load()
	return s
}
