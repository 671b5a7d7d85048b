package term

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/memsight/memsight/pkg/model"
)

// finding is one active finding with its process.
type finding struct {
	p model.Process
	f model.Finding
}

// findingsBlock lists the active findings, critical first then oldest
// first: each summary wrapped to width (0: one line), and under a stall the
// stuck call's top frames.
func findingsBlock(v View, frames, width int) []string {
	var all []finding
	for _, p := range v.Processes {
		if p.Sample == nil {
			continue
		}
		for _, f := range p.Sample.Findings {
			all = append(all, finding{p, f})
		}
	}
	if len(all) == 0 {
		return nil
	}
	slices.SortStableFunc(all, func(a, b finding) int {
		ca, cb := a.f.Severity == model.SeverityCritical, b.f.Severity == model.SeverityCritical
		if ca != cb {
			if ca {
				return -1
			}
			return 1
		}
		if c := a.f.Since.Compare(b.f.Since); c != 0 {
			return c
		}
		return cmp.Compare(a.p.PID, b.p.PID)
	})
	out := []string{"FINDINGS"}
	for _, x := range all {
		since := ""
		if !x.f.Since.IsZero() {
			since = " (since " + x.f.Since.Local().Format(time.TimeOnly) + ")"
		}
		head := fmt.Sprintf("  %-8s  %-19s %d %s  ", Clean(x.f.Severity), Clean(x.f.Kind), x.p.PID, Clean(x.p.Comm))
		out = append(out, wrap(head, Clean(x.f.Summary)+since, width)...)
		out = append(out, frameLines(x, frames)...)
	}
	return out
}

const indent = "              "

// frameLines are the stuck call's frames under a stall finding: from the
// innermost (runtime frames folded) down to the finalizer or cleanup
// function itself, at most limit, eliding the middle.
func frameLines(x finding, limit int) []string {
	stack, hidden := trimRuntime(stackOf(x))
	if fn := stuckFunction(x); fn != "" {
		for i, fr := range stack {
			if strings.HasPrefix(fr, fn+" ") || fr == fn {
				stack = stack[:i+1] // what runs the function is always the same
				break
			}
		}
	}
	lines := make([]string, 0, len(stack))
	for _, fr := range stack {
		lines = append(lines, indent+Clean(fr))
	}
	if len(lines) > 0 && hidden == 1 {
		lines[0] += "  (1 runtime frame above)"
	} else if len(lines) > 0 && hidden > 1 {
		lines[0] += fmt.Sprintf("  (%d runtime frames above)", hidden)
	}
	if len(lines) > limit {
		more := fmt.Sprintf("%s… %d more frames", indent, len(lines)-limit)
		lines = append(lines[:limit-1:limit-1], more, lines[len(lines)-1])
	}
	return lines
}

// stuckFunction is the finalizer or cleanup function a stall is about.
func stuckFunction(x finding) string {
	if fn, ok := x.f.Evidence["function"].(string); ok {
		return fn
	}
	s := x.p.Sample
	switch {
	case x.f.Kind == model.KindFinalizerStall && s.Finalizers.Running != nil:
		return s.Finalizers.Running.Function
	case x.f.Kind == model.KindCleanupStall && s.Cleanups.Running != nil:
		return s.Cleanups.Running.Function
	}
	return ""
}

// stackOf is the stuck call's stack for a stall finding: its evidence, else
// the running finalizer's or cleanup's stack in the sample.
func stackOf(x finding) []string {
	switch ev := x.f.Evidence["stack"].(type) {
	case []string:
		return ev
	case []any: // decoded from JSON
		var s []string
		for _, fr := range ev {
			if str, ok := fr.(string); ok {
				s = append(s, str)
			}
		}
		return s
	}
	s := x.p.Sample
	switch x.f.Kind {
	case model.KindFinalizerStall:
		if s.Finalizers.Running != nil {
			return s.Finalizers.Running.Stack
		}
	case model.KindCleanupStall:
		if s.Cleanups.Running != nil {
			return s.Cleanups.Running.Stack
		}
	}
	return nil
}

// trimRuntime drops the innermost frames of package runtime (gopark and
// friends) but the last, which names the blocking operation, and says how
// many it dropped.
func trimRuntime(stack []string) ([]string, int) {
	n := 0
	for n < len(stack) && strings.HasPrefix(stack[n], "runtime.") {
		n++
	}
	if n <= 1 || n == len(stack) {
		return stack, 0
	}
	return stack[n-1:], n - 1
}

// wrap writes text after head, continuing on lines indented by indent
// when it does not fit in width (0: never), breaking at spaces.
func wrap(head, text string, width int) []string {
	first := head + text
	if width <= 0 || runes(first) <= width {
		return []string{first}
	}
	var out []string
	line, room := head, width-runes(head)
	for _, w := range strings.Fields(text) {
		n := runes(w)
		if n+1 > room && line != head && line != indent {
			out = append(out, strings.TrimRight(line, " "))
			line, room = indent, width-runes(indent)
		}
		line += w + " "
		room -= n + 1
	}
	return append(out, strings.TrimRight(line, " "))
}
