package main

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/memsight/memsight/pkg/observe"
)

// renderSample writes the live table view of one sample.
func renderSample(w io.Writer, s *observe.Sample, prev *observe.Sample) {
	fmt.Fprintf(w, "memsight attach %d (%s, %s)   %s\n", s.PID, s.Comm, s.GoVersion, s.Time.Format("15:04:05"))
	fmt.Fprintf(w, "RSS        %s (anon %s, file %s)  threads %d", humanBytes(s.RSSBytes), humanBytes(s.RSS.AnonBytes), humanBytes(s.RSS.FileBytes), s.RSS.Threads)
	if prev != nil {
		fmt.Fprintf(w, "  %s", signedBytes(int64(s.RSSBytes)-int64(prev.RSSBytes)))
	}
	fmt.Fprintln(w)

	f := s.Finalizers
	fmt.Fprintf(w, "finalizers queue %s", qlen(f.QueueLength))
	if prev != nil && f.QueueLength != nil && prev.Finalizers.QueueLength != nil {
		fmt.Fprintf(w, " (%+d)", *f.QueueLength-*prev.Finalizers.QueueLength)
	}
	fmt.Fprintf(w, "   since attach: registered %d, queued %d, executed %d", f.RegisteredTotal, f.QueuedTotal, f.ExecutedTotal)
	if prev != nil {
		dt := s.Time.Sub(prev.Time).Seconds()
		if dt > 0 {
			fmt.Fprintf(w, "  (%.0f/s in, %.0f/s out)", float64(f.QueuedTotal-prev.Finalizers.QueuedTotal)/dt, float64(f.ExecutedTotal-prev.Finalizers.ExecutedTotal)/dt)
		}
	}
	fmt.Fprintln(w)
	renderRunning(w, f.Running, prevRunning(prev, true))

	c := s.Cleanups
	fmt.Fprintf(w, "cleanups   queue %s   since attach: queued %d, executed %d\n", qlen(c.QueueLength), c.QueuedTotal, c.ExecutedTotal)
	renderRunning(w, c.Running, prevRunning(prev, false))

	if len(s.Findings) == 0 {
		fmt.Fprintln(w, "findings   none")
	} else {
		fmt.Fprintln(w, "FINDINGS")
		for _, fd := range s.Findings {
			fmt.Fprintf(w, "  %-8s %-18s %s (since %s)\n", fd.Severity, fd.Kind, fd.Summary, fd.Since.Format("15:04:05"))
		}
	}
	if len(s.Unknown) > 0 {
		var keys []string
		for k, v := range s.Unknown {
			keys = append(keys, k+": "+v)
		}
		fmt.Fprintf(w, "unknown    %s\n", strings.Join(keys, "; "))
	}
}

// maxTableFrames bounds the stack printed in the table view (JSON has all).
const maxTableFrames = 12

func prevRunning(prev *observe.Sample, fin bool) *observe.Running {
	switch {
	case prev == nil:
		return nil
	case fin:
		return prev.Finalizers.Running
	default:
		return prev.Cleanups.Running
	}
}

func renderRunning(w io.Writer, r, prev *observe.Running) {
	if r == nil {
		return
	}
	age := fmt.Sprintf("%.1fs", r.Seconds)
	if r.AtLeast {
		age = "≥ " + age
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

func signedBytes(d int64) string {
	if d < 0 {
		return "-" + humanBytes(uint64(-d))
	}
	return "+" + humanBytes(uint64(d))
}
