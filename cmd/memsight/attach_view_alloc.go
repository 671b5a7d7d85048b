package main

import (
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/memsight/memsight/pkg/model"
)

// maxAllocSites bounds the allocation sites in the table view.
const maxAllocSites = 5

// renderAlloc writes the --alloc-probes lines: probes, governor, top sites.
func renderAlloc(w io.Writer, a *model.Alloc) {
	if a == nil {
		return
	}
	fmt.Fprintf(w, "alloc      %d probes, %d hits, overhead %.2f %% of one CPU\n", len(a.Enabled), a.Hits, a.OverheadRatio*100)
	if len(a.Detached) > 0 {
		var names []string
		for n := range a.Detached {
			names = append(names, n)
		}
		sort.Strings(names)
		fmt.Fprintf(w, "  detached %s\n", strings.Join(names, ", "))
	}
	for i, site := range a.TopSites {
		if i == maxAllocSites {
			break
		}
		top := "?"
		if len(site.Stack) > 0 {
			top = site.Stack[0]
		}
		fmt.Fprintf(w, "  %9s  %6d hits  %s\n", humanBytes(site.Bytes), site.Hits, top)
	}
}
