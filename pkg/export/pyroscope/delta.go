package pyroscope

import (
	"encoding/binary"
	"hash/maphash"
	"sync"
	"time"

	"github.com/google/pprof/profile"
)

// deltas turns the heap profiles' cumulative alloc_objects and alloc_space
// into what was allocated since the previous push of the same process,
// keyed by each sample's stack and size (one runtime bucket). It keeps 32
// bytes per allocation site of each watched process.
type deltas struct {
	mu    sync.Mutex
	seed  maphash.Seed
	byPID map[int]*pidDeltas
}

type pidDeltas struct {
	since time.Time // the watch's start: a reused PID starts afresh
	prev  map[uint64][2]int64
}

func newDeltas() *deltas { return &deltas{seed: maphash.MakeSeed(), byPID: map[int]*pidDeltas{}} }

// apply rewrites p's alloc values (the first two sample types, as the
// runtime's heap profile orders them) into deltas and remembers the
// cumulative ones. The first profile of a process is sent as it is (what
// was allocated since it started).
func (d *deltas) apply(pid int, since time.Time, p *profile.Profile) {
	if len(p.SampleType) < 4 || p.SampleType[0].Type != "alloc_objects" || p.SampleType[1].Type != "alloc_space" {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	pd := d.byPID[pid]
	if pd == nil || !pd.since.Equal(since) {
		pd = &pidDeltas{since: since}
		d.byPID[pid] = pd
	}
	next := make(map[uint64][2]int64, len(p.Sample))
	kept := p.Sample[:0]
	for _, s := range p.Sample {
		k := d.key(s)
		cur := [2]int64{s.Value[0], s.Value[1]}
		next[k] = cur
		if prev, ok := pd.prev[k]; ok {
			s.Value[0], s.Value[1] = cur[0]-prev[0], cur[1]-prev[1]
		}
		if s.Value[0] != 0 || s.Value[1] != 0 || s.Value[2] != 0 || s.Value[3] != 0 {
			kept = append(kept, s)
		}
	}
	p.Sample = kept
	pd.prev = next
}

// key hashes a sample's location addresses and its "bytes" label.
func (d *deltas) key(s *profile.Sample) uint64 {
	var h maphash.Hash
	h.SetSeed(d.seed)
	var b [8]byte
	for _, l := range s.Location {
		binary.LittleEndian.PutUint64(b[:], l.Address)
		h.Write(b[:])
		for _, ln := range l.Line { // inlined frames share an address
			h.WriteString(ln.Function.Name)
		}
	}
	for _, v := range s.NumLabel["bytes"] {
		binary.LittleEndian.PutUint64(b[:], uint64(v))
		h.Write(b[:])
	}
	return h.Sum64()
}

// forget drops the processes not in live (PID -> watch start).
func (d *deltas) forget(live map[int]time.Time) {
	d.mu.Lock()
	defer d.mu.Unlock()
	for pid, pd := range d.byPID {
		if s, ok := live[pid]; !ok || !s.Equal(pd.since) {
			delete(d.byPID, pid)
		}
	}
}
