package term

import (
	"fmt"
	"io"
	"strings"

	"github.com/memsight/memsight/pkg/model"
)

// RenderProcesses writes the table of `memsight ps`.
func RenderProcesses(w io.Writer, ps []model.GoProcess) error {
	tw := NewTable(w, "PID", "COMMAND", "GO", "BUILD", "RSS", "ATTACH", "CONTAINER")
	for _, p := range ps {
		attach := "yes"
		if !p.Attachable {
			attach = "no: " + p.Reason
		}
		ctr := "-"
		if p.ContainerID != "" {
			ctr = p.ContainerID[:min(12, len(p.ContainerID))]
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", p.PID, p.Comm, dash(p.GoVersion), buildFlags(p), HumanBytes(p.RSSBytes), attach, ctr)
	}
	return tw.Flush()
}

func buildFlags(p model.GoProcess) string {
	var f []string
	if p.PIE {
		f = append(f, "pie")
	}
	if p.CGO {
		f = append(f, "cgo")
	}
	if p.Stripped {
		f = append(f, "stripped")
	}
	if len(f) == 0 {
		return "-"
	}
	return strings.Join(f, ",")
}

// dash is s, or "-" when empty.
func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
