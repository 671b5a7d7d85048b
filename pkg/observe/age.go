package observe

import (
	"fmt"
	"strings"
	"time"

	"github.com/memsight/memsight/pkg/goruntime"
)

// preAttachAge sets the age of a finalizer or cleanup that was already
// running when memsight attached (the probes did not see it start).
//
// The time since attach is a true lower bound. The runtime's own wait time
// (g.waitsince) is better for a goroutine blocked long before attach, but it
// is the end of the GC cycle *before* the one that first saw the goroutine
// blocked, so it can overstate by up to one GC interval: a finalizer that
// blocks for 10 ms in a read could look minutes old. It is therefore used
// only from the second sample that sees the same call still running, when a
// short block would have returned.
func (s *Session) preAttachAge(r *Running, kind string, g *goruntime.Goroutine, mono int64, now time.Time) {
	r.Seconds, r.AgeSource, r.AtLeast = now.Sub(s.started).Seconds(), "attach", true
	if g == nil || r.State != "blocked" {
		return
	}
	goroutine := fmt.Sprintf("%s|%d|", kind, g.Goid.V)
	key := goroutine + fmt.Sprint(g.WaitSince.V)
	if _, seen := s.firstSeen[key]; !seen {
		// An earlier blocked call of this goroutine has ended: forget it,
		// so the map holds one entry per goroutine.
		for k := range s.firstSeen {
			if strings.HasPrefix(k, goroutine) {
				delete(s.firstSeen, k)
			}
		}
		s.firstSeen[key] = now
		return
	}
	if d, ok := g.Blocked(mono); ok && d.Seconds() > r.Seconds {
		r.Seconds, r.AgeSource, r.AtLeast = d.Seconds(), "waitsince", false
	}
}
