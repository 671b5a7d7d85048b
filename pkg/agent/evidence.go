package agent

import (
	"sort"
	"sync"

	"github.com/memsight/memsight/pkg/model"
)

// evidenceStore keeps the bundles, bounded per process and in bytes.
type evidenceStore struct {
	mu     sync.Mutex
	max    int64
	perPID int
	bytes  int64
	byID   map[string]*model.Evidence
	order  []*model.Evidence // oldest first (by Since)
}

func newEvidenceStore(max int64, perPID int) *evidenceStore {
	return &evidenceStore{max: max, perPID: perPID, byID: map[string]*model.Evidence{}}
}

// snapshotSize estimates what a snapshot keeps: its profiles, and a few
// KiB for the sample and census.
func snapshotSize(s *model.EvidenceSnapshot) int64 {
	if s == nil {
		return 0
	}
	n := int64(8 << 10)
	for _, b := range s.Profiles {
		n += int64(len(b))
	}
	return n
}

// evidenceSize is what a bundle keeps: its snapshots (fixed once stored).
func evidenceSize(ev *model.Evidence) int64 {
	return snapshotSize(ev.Fired) + snapshotSize(ev.Resolved)
}

// fired records a new bundle, evicting the oldest beyond the bounds.
func (st *evidenceStore) fired(ev *model.Evidence) {
	st.mu.Lock()
	defer st.mu.Unlock()
	if old := st.byID[ev.ID]; old != nil {
		st.removeLocked(old)
	}
	st.byID[ev.ID] = ev
	st.order = append(st.order, ev)
	st.bytes += evidenceSize(ev)
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
func (st *evidenceStore) resolved(id string, s *model.EvidenceSnapshot) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	ev := st.byID[id]
	if ev == nil {
		return false
	}
	ev.Resolved = s
	st.bytes += snapshotSize(s)
	st.trimLocked(ev)
	return true
}

// trimLocked evicts the oldest bundles while over the byte bound, keeping
// keep (the one just added) if it is alone.
func (st *evidenceStore) trimLocked(keep *model.Evidence) {
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

func (st *evidenceStore) removeLocked(ev *model.Evidence) {
	for i, e := range st.order {
		if e == ev {
			st.order = append(st.order[:i], st.order[i+1:]...)
			break
		}
	}
	delete(st.byID, ev.ID)
	st.bytes -= evidenceSize(ev)
}

// Evidence returns a bundle by ID. It is shared: do not modify it.
func (a *Agent) Evidence(id string) (*model.Evidence, bool) {
	st := a.pf.ev
	st.mu.Lock()
	defer st.mu.Unlock()
	ev, ok := st.byID[id]
	return ev, ok
}

// EvidenceList returns the bundles kept, newest first. They are shared:
// do not modify them.
func (a *Agent) EvidenceList() []*model.Evidence {
	st := a.pf.ev
	st.mu.Lock()
	out := append([]*model.Evidence(nil), st.order...)
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
