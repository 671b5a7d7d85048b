package detect

import (
	"fmt"
	"strings"

	"github.com/memsight/memsight/pkg/model"
)

// Thresholds of a critical goroutine_leak.
const (
	leakCriticalCount = 1000
	leakCriticalBytes = 64 << 20
	leakSummarySites  = 3
)

// leak turns the last verdict into a finding: every leaked goroutine is a
// proof (two marks agreed), so one is enough.
func (d *Detector) leak(s *model.Sample) *model.Finding {
	gl := s.GoroutineLeaks
	if gl == nil || gl.Leaked == 0 {
		return nil
	}
	sites := make([]map[string]any, 0, len(gl.Leaks))
	var parts []string
	for i, l := range gl.Leaks {
		site := map[string]any{
			"creation_site": l.CreationSite, "function": l.Function, "wait_reason": l.WaitReason,
			"count": l.Count, "bytes_pinned_estimate": l.BytesPinnedEstimate, "stack": l.Stack,
		}
		if l.OldestWaitSeconds != nil {
			site["oldest_wait_seconds"] = *l.OldestWaitSeconds
		}
		sites = append(sites, site)
		if i < leakSummarySites {
			parts = append(parts, fmt.Sprintf("%d × %s [%s]", l.Count, l.Function, l.WaitReason))
		}
	}
	if len(gl.Leaks) > leakSummarySites {
		parts = append(parts, fmt.Sprintf("%d more sites", len(gl.Leaks)-leakSummarySites))
	}
	sev := model.SeverityWarning
	if gl.Leaked >= leakCriticalCount || gl.BytesPinnedEstimate >= leakCriticalBytes {
		sev = model.SeverityCritical
	}
	return &model.Finding{
		Severity: sev,
		Summary: fmt.Sprintf("%d goroutines leaked (blocked on a primitive nothing live reaches), pinning ~%s: %s",
			gl.Leaked, pinnedSize(gl.BytesPinnedEstimate), strings.Join(parts, "; ")),
		Evidence: map[string]any{
			"leaked": gl.Leaked, "sites": sites, "bytes_pinned_estimate": gl.BytesPinnedEstimate,
			"scanned_at": gl.Time, "mark_seconds": gl.Mark.Seconds, "conservative": gl.Mark.Conservative,
		},
	}
}

func pinnedSize(b uint64) string {
	if b < 1<<20 {
		return fmt.Sprintf("%d KiB", b>>10)
	}
	return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20))
}
