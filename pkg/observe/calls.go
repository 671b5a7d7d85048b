package observe

import (
	"fmt"
	"time"

	"github.com/memsight/memsight/pkg/goruntime"
	"github.com/memsight/memsight/pkg/model"
)

// seenCall is a finalizer or cleanup call a sample saw running on one
// runner goroutine: its identity (what the runner's frame says, see
// goruntime.FinalizerCall and CleanupCall) and when it was first seen.
type seenCall struct {
	key   string
	first time.Time
	// sample is the session's sample number that first saw it; 0 means
	// the first sample, so the call may have begun before attach.
	sample int
	// seen counts the samples that saw it.
	seen int
}

// track sets the age of a call on the runner goroutine slot (one entry per
// finalizer or cleanup goroutine) from the samples that saw it, when no
// probe saw it start:
//
//   - first seen by this sample: it began since the previous one, so
//     Seconds 0 ("sample"); seen by the first sample, it may have begun
//     before attach: Seconds is the time since attach, a lower bound
//     (AtLeast, "attach").
//   - seen again with the same identity: it has run at least since the
//     sample that first saw it, and at most one interval more ("sample"),
//     or, from before attach, since attach ("attach"). Then, for a blocked
//     goroutine, the runtime's own wait time (g.waitsince) is taken when it
//     is longer ("waitsince"): it is the end of the GC cycle before the one
//     that first saw the goroutine blocked, so it can overstate by up to a
//     GC interval, which is why it is only used once a second sample has
//     seen the call still blocked, when a short block would have returned.
func (s *Session) track(r *model.Running, slot, key string, g *goruntime.Goroutine, mono int64, now time.Time) {
	c := s.calls[slot]
	if c == nil || c.key != key {
		c = &seenCall{key: key, first: now, sample: s.samples}
		s.calls[slot] = c
	}
	c.seen++
	if c.sample == 0 {
		r.Seconds, r.AgeSource, r.AtLeast = now.Sub(s.started).Seconds(), "attach", true
	} else {
		r.Seconds, r.AgeSource = now.Sub(c.first).Seconds(), "sample"
	}
	if c.seen < 2 || g == nil || r.State != "blocked" {
		return
	}
	if d, ok := g.Blocked(mono); ok && d.Seconds() > r.Seconds {
		r.Seconds, r.AgeSource, r.AtLeast = d.Seconds(), "waitsince", false
	}
}

// forget drops the call of a runner slot that is running nothing now.
func (s *Session) forget(slot string) { delete(s.calls, slot) }

// finalizerKey names the finalizer call in progress: the call read from the
// runner's frame and the runtime's executed count (a call cannot outlive a
// change of it). When the frame could not be read, see gKey.
func (s *Session) finalizerKey(fs goruntime.FinalizerState) string {
	ex := fs.Executed.String()
	if c := fs.Call; c != nil {
		return fmt.Sprintf("call %x %x %x %x %d|%s", c.Fn, c.Args[0], c.Args[1], c.Block, c.Remaining, ex)
	}
	return s.gKey(fs.Goroutine) + "|" + ex
}

// cleanupKey names the cleanup call in progress on one cleanup goroutine.
func (s *Session) cleanupKey(cr goruntime.CleanupRunner, executed goruntime.Uint) string {
	if c := cr.Call; c != nil {
		return fmt.Sprintf("call %x %d|%s", c.Block, c.Index, executed)
	}
	return s.gKey(cr.Goroutine) + "|" + executed.String()
}

// gKey stands in for a call that could not be read: a blocked goroutine's
// saved registers do not change while it stays blocked. A goroutine that is not blocked gives no such
// guarantee: its key is new at every sample, so it never ages.
func (s *Session) gKey(g *goruntime.Goroutine) string {
	if g == nil || g.StatusName != "waiting" {
		return fmt.Sprintf("unknown %d", s.samples)
	}
	return fmt.Sprintf("g %x %x %x", g.Addr, g.SchedSP, g.SchedPC)
}
