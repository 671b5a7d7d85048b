package detect

import (
	"fmt"
	"time"

	"github.com/memsight/memsight/pkg/model"
)

// backlog implements the finalizer-backlog rule of the design notes: the
// queue length's second difference exceeds BacklogAccel on at least
// BacklogAccelSamples consecutive samples (growth is accelerating), or the
// queue has grown monotonically for BacklogWindow. Both require the queue to
// be longer than BacklogMinQueue, since the runtime counts executions per
// block of up to 101 finalizers and shorter queues are noise.
func (d *Detector) backlog(now time.Time, qlen *int64) *model.Finding {
	if qlen == nil {
		d.queue, d.accel = nil, 0
		return nil
	}
	d.queue = append(d.queue, point{now, *qlen})
	// Keep a little more than the window.
	for len(d.queue) > 2 && now.Sub(d.queue[1].t) > d.cfg.BacklogWindow {
		d.queue = d.queue[1:]
	}
	n := len(d.queue)
	if n >= 3 {
		a := secondDiff(d.queue[n-3], d.queue[n-2], d.queue[n-1])
		v := rate(d.queue[n-2], d.queue[n-1])
		if a > d.cfg.BacklogAccel && v > 0 {
			d.accel++
		} else {
			d.accel = 0
		}
	}
	q := *qlen
	if q <= d.cfg.BacklogMinQueue {
		return nil
	}
	accelerating := d.accel >= d.cfg.BacklogAccelSamples
	monotonic := d.monotonic(now)
	if !accelerating && !monotonic {
		return nil
	}
	first := d.queue[0]
	growth := rate(first, d.queue[n-1])
	why := "grew monotonically"
	if accelerating {
		why = "is growing faster and faster"
	}
	return &model.Finding{
		Severity: model.SeverityWarning,
		Summary: fmt.Sprintf("finalizer queue %s: %d queued, +%.0f/s over %s",
			why, q, growth, d.queue[n-1].t.Sub(first.t).Round(time.Second)),
		Evidence: map[string]any{
			"queue_length":      q,
			"growth_per_second": growth,
			"window_seconds":    d.queue[n-1].t.Sub(first.t).Seconds(),
			"accelerating":      accelerating,
			"monotonic":         monotonic,
			"consecutive_accel": d.accel,
		},
	}
}

// monotonic reports whether the queue grew monotonically over a span of at
// least BacklogWindow: it never fell below its running maximum by more than
// one finBlock (the runtime bumps its executed count per block, so a drained
// block shows as a drop of up to 101 even while the backlog grows), and it
// grew by more than one block overall.
func (d *Detector) monotonic(now time.Time) bool {
	first := d.queue[0]
	if now.Sub(first.t) < d.cfg.BacklogWindow {
		return false
	}
	hi := first.q
	for _, p := range d.queue[1:] {
		if p.q < hi-d.cfg.BacklogMinQueue {
			return false
		}
		hi = max(hi, p.q)
	}
	return d.queue[len(d.queue)-1].q-first.q > d.cfg.BacklogMinQueue
}

func rate(a, b point) float64 {
	dt := b.t.Sub(a.t).Seconds()
	if dt <= 0 {
		return 0
	}
	return float64(b.q-a.q) / dt
}

// secondDiff is the second difference of the queue length in finalizers/s².
func secondDiff(a, b, c point) float64 {
	dt := c.t.Sub(a.t).Seconds() / 2
	if dt <= 0 {
		return 0
	}
	return (rate(b, c) - rate(a, b)) / dt
}
