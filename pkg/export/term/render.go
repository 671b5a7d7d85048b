package term

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/memsight/memsight/pkg/model"
)

// Render writes one frame of v: Lines joined by newlines.
func Render(w io.Writer, v View, o Options) error {
	_, err := io.WriteString(w, strings.Join(Lines(v, o), "\n")+"\n")
	return err
}

// Lines returns one frame of v as lines fitted to o.Width and o.Height:
// the header, the process table, and the active findings.
func Lines(v View, o Options) []string {
	o = o.withDefaults()
	rows := Rows(v, o)
	head := header(v, rows, o)
	tab := table(rows, o.Width)
	finds := findingsBlock(v, o.StackFrames, o.Width)
	status := 0
	if o.Status != "" {
		status = 1
	}
	if o.Height > 0 {
		tab, finds = fit(tab, finds, o.Height-len(head)-1-status, o.Sort)
	}
	out := append(slices.Clip(head), "")
	out = append(out, tab...)
	if len(finds) > 0 {
		out = append(out, "")
		out = append(out, finds...)
	}
	if o.Status != "" {
		out = append(out, Clean(o.Status))
	}
	if o.Width > 0 {
		for i, l := range out {
			out[i] = cut(l, o.Width)
		}
	}
	return out
}

// fit shares height lines between the table (header line included) and
// the findings block (at most half when both do not fit), summarising
// what is left out.
func fit(tab, finds []string, height int, s Sort) ([]string, []string) {
	height = max(height, 3)
	need := len(tab)
	if len(finds) > 0 {
		need += 1 + len(finds)
	}
	if need <= height {
		return tab, finds
	}
	fb := 0 // lines for the findings block, its blank line included
	if len(finds) > 0 {
		fb = min(1+len(finds), max(height/2, height-len(tab)))
	}
	if rb := height - fb; len(tab) > rb {
		hidden := len(tab) - rb + 1
		tab = append(tab[:rb-1:rb-1], fmt.Sprintf("… %d more processes (sorted by %s)", hidden, s))
	}
	if fb > 0 && 1+len(finds) > fb {
		hidden := len(finds) - (fb - 1)
		finds = slices.Clone(finds[:fb-1])
		finds[0] += fmt.Sprintf(" (%d more lines below the screen; -o json shows all)", hidden)
	}
	if fb == 0 {
		finds = nil
	}
	return tab, finds
}

// header is the node's summary in two lines.
func header(v View, rows []Row, o Options) []string {
	l1 := "memsight top  " + Clean(v.Source) + "  " + v.Time.Local().Format(time.TimeOnly)
	if o.Interval > 0 {
		l1 += "  every " + o.Interval.String()
	}
	l1 += "  sorted by " + string(o.Sort)

	states := map[string]int{}
	var rss uint64
	sev := map[string]int{}
	total := 0
	for _, r := range rows {
		states[r.State]++
		if r.RSSBytes != nil {
			rss += *r.RSSBytes
		}
	}
	for _, p := range v.Processes {
		if p.Sample != nil {
			for _, f := range p.Sample.Findings {
				sev[f.Severity]++
				total++
			}
		}
	}
	l2 := fmt.Sprintf("Go processes %d", len(rows))
	if len(rows) > 0 {
		var parts []string
		for _, st := range slices.Sorted(maps.Keys(states)) {
			parts = append(parts, fmt.Sprintf("%d %s", states[st], Clean(st)))
		}
		l2 += ": " + strings.Join(parts, ", ")
	}
	l2 += fmt.Sprintf("   RSS %s   findings %d", bytes(rss), total)
	if total > 0 {
		var parts []string
		for _, s := range []string{model.SeverityCritical, model.SeverityWarning} {
			if sev[s] > 0 {
				parts = append(parts, fmt.Sprintf("%d %s", sev[s], s))
			}
		}
		l2 += ": " + strings.Join(parts, ", ")
	}
	return []string{l1, l2}
}
