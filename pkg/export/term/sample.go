package term

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/memsight/memsight/pkg/model"
)

// RenderSample writes the table view of `memsight attach` for one sample:
// prev is the sample before (nil for the first), for what changed since.
func RenderSample(w io.Writer, s *model.Sample, prev *model.Sample) {
	fmt.Fprintf(w, "memsight attach %d (%s, %s)   %s\n", s.PID, s.Comm, s.GoVersion, s.Time.Format("15:04:05"))
	fmt.Fprintf(w, "RSS        %s (anon %s, file %s)  threads %d", HumanBytes(s.RSSBytes), HumanBytes(s.RSS.AnonBytes), HumanBytes(s.RSS.FileBytes), s.RSS.Threads)
	if prev != nil {
		fmt.Fprintf(w, "  %s", signedIEC(int64(s.RSSBytes)-int64(prev.RSSBytes)))
	}
	if r := s.RSS; r.SlopeBytesPerHour != nil && r.R2 != nil {
		fmt.Fprintf(w, "  trend %s/h (R² %.2f)", signedIEC(int64(*r.SlopeBytesPerHour)), *r.R2)
	}
	fmt.Fprintln(w)

	f := s.Finalizers
	fmt.Fprintf(w, "finalizers queue %s", qlen(f.QueueLength))
	if prev != nil && f.QueueLength != nil && prev.Finalizers.QueueLength != nil {
		fmt.Fprintf(w, " (%+d)", *f.QueueLength-*prev.Finalizers.QueueLength)
	}
	fmt.Fprintf(w, "   since attach: ")
	if f.RegisteredTotal != nil {
		fmt.Fprintf(w, "registered %d, ", *f.RegisteredTotal)
	}
	fmt.Fprintf(w, "queued %s, executed %s", optCount(f.QueuedTotal), optCount(f.ExecutedTotal))
	if prev != nil {
		dt := s.Time.Sub(prev.Time).Seconds()
		p := prev.Finalizers
		if dt > 0 && f.QueuedTotal != nil && f.ExecutedTotal != nil && p.QueuedTotal != nil && p.ExecutedTotal != nil {
			fmt.Fprintf(w, "  (%.0f/s in, %.0f/s out)", float64(*f.QueuedTotal-*p.QueuedTotal)/dt, float64(*f.ExecutedTotal-*p.ExecutedTotal)/dt)
		}
	}
	fmt.Fprintln(w)
	renderRunning(w, f.Running, prevRunning(prev, true), f.Goroutine)

	c := s.Cleanups
	fmt.Fprintf(w, "cleanups   queue %s   since attach: queued %s, executed %s\n", qlen(c.QueueLength), optCount(c.QueuedTotal), optCount(c.ExecutedTotal))
	renderRunning(w, c.Running, prevRunning(prev, false), nil)
	renderMemory(w, s)
	renderAlloc(w, s.Alloc)

	if len(s.Findings) == 0 {
		fmt.Fprintln(w, "findings   none")
	} else {
		fmt.Fprintln(w, "FINDINGS")
		for _, fd := range s.Findings {
			fmt.Fprintf(w, "  %-8s %-18s %s (since %s)\n", fd.Severity, fd.Kind, fd.Summary, fd.Since.Format("15:04:05"))
		}
	}
	// What is unknown is printed when it changes (the first sample, and
	// when a value becomes known or unknown); -o json has it every time.
	if len(s.Unknown) > 0 && (prev == nil || !maps.Equal(s.Unknown, prev.Unknown)) {
		var keys []string
		for k, v := range s.Unknown {
			keys = append(keys, k+": "+v)
		}
		slices.Sort(keys)
		fmt.Fprintf(w, "unknown    %s\n", strings.Join(keys, "; "))
	}
}

// optCount prints a count that may be unknown.
func optCount(v *uint64) string {
	if v == nil {
		return "?"
	}
	return fmt.Sprint(*v)
}

// maxTableFrames bounds the stack printed in the table view (JSON has all).
const maxTableFrames = 12

func prevRunning(prev *model.Sample, fin bool) *model.Running {
	switch {
	case prev == nil:
		return nil
	case fin:
		return prev.Finalizers.Running
	default:
		return prev.Cleanups.Running
	}
}

func renderRunning(w io.Writer, r, prev *model.Running, g *model.GoroutineState) {
	if r == nil {
		return
	}
	age := fmt.Sprintf("%.1fs", r.Seconds)
	switch {
	case r.AtLeast:
		age = "≥ " + age + " (running before attach"
		if g != nil && g.WaitSeconds != nil && r.State == "blocked" {
			age += fmt.Sprintf("; the runtime's wait time: %.1fs", *g.WaitSeconds)
		}
		age += ")"
	case r.AgeSource == "waitsince":
		age += " (the runtime's wait time)"
	}
	state := r.State
	if r.WaitReason != "" {
		state += " (" + r.WaitReason + ")"
	}
	if r.TID != 0 {
		state += fmt.Sprintf(" on thread %d", r.TID)
	}
	fmt.Fprintf(w, "  running  %s  %s for %s\n", r.Function, state, age)
	if prev != nil && prev.Function == r.Function && slices.Equal(prev.Stack, r.Stack) {
		fmt.Fprintln(w, "           (same stack)")
		return
	}
	for i, fr := range r.Stack {
		if i == maxTableFrames {
			fmt.Fprintf(w, "           ... %d more frames (-o json shows all)\n", len(r.Stack)-i)
			break
		}
		fmt.Fprintf(w, "           %s\n", fr)
	}
}

func qlen(q *int64) string {
	if q == nil {
		return "unknown"
	}
	return fmt.Sprintf("%d", *q)
}

func signedIEC(d int64) string {
	if d < 0 {
		return "-" + HumanBytes(uint64(-d))
	}
	return "+" + HumanBytes(uint64(d))
}
