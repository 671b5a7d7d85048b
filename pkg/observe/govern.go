package observe

import "time"

// pointCost is what one probe point cost the target over a governor
// period.
type pointCost struct {
	name string
	d    time.Duration
}

// periodCosts prices the hits since the last period: each point's new hits
// × perHit(point). total counts every point; active, and costs, only the
// points not detached (the hits of those detached last round, until their
// links closed, are overhead but do not decide).
func periodCosts(hits, last map[string]uint64, detached map[string]string, perHit func(string) time.Duration) (costs []pointCost, total, active time.Duration) {
	for name, n := range hits {
		var d uint64
		if n > last[name] {
			d = n - last[name]
		}
		c := time.Duration(d) * perHit(name)
		total += c
		if _, gone := detached[name]; !gone && c > 0 {
			costs = append(costs, pointCost{name, c})
			active += c
		}
	}
	return costs, total, active
}

// shed picks points off costs, in order, until the overhead ratio over dt
// fits the budget: it records why each goes in detached, tells note, and
// returns their names for the attachment to detach.
func shed(costs []pointCost, ratio, budget float64, dt time.Duration, detached map[string]string, note func(c pointCost, why string)) []string {
	var names []string
	for _, c := range costs {
		if ratio <= budget {
			break
		}
		why := overBudget(ratio, budget)
		names = append(names, c.name)
		detached[c.name] = why
		note(c, why)
		ratio -= float64(c.d) / float64(dt)
	}
	return names
}
