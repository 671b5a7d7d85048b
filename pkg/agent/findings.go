package agent

import (
	"iter"

	"github.com/memsight/memsight/pkg/observe"
)

// Findings yields the active findings of the snapshot with their process,
// by PID, in each sample's order. Only watched processes have a sample, so
// only they have findings.
func (s Snapshot) Findings() iter.Seq2[Process, observe.Finding] {
	return func(yield func(Process, observe.Finding) bool) {
		for _, p := range s.Processes {
			if p.Sample == nil {
				continue
			}
			for _, f := range p.Sample.Findings {
				if !yield(p, f) {
					return
				}
			}
		}
	}
}
