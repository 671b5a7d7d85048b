package kube

import (
	"strings"

	"github.com/memsight/memsight/pkg/model"
)

// reasons are the Event reasons of the detectors' finding kinds.
var reasons = map[string]string{
	model.KindFinalizerStall:    "FinalizerStall",
	model.KindFinalizerBacklog:  "FinalizerBacklog",
	model.KindCleanupStall:      "CleanupStall",
	model.KindRSSGrowth:         "RSSGrowth",
	model.KindHeapGrowth:        "HeapGrowth",
	model.KindGoroutineGrowth:   "GoroutineGrowth",
	model.KindFDGrowth:          "FDGrowth",
	model.KindGCPauseRegression: "GCPauseRegression",
	model.KindGoroutineLeak:     "GoroutineLeak",
}

// Reason is the Event reason of a finding kind: finalizer_stall ->
// FinalizerStall; a kind not listed is converted the same way.
func Reason(kind string) string {
	if r, ok := reasons[kind]; ok {
		return r
	}
	var b strings.Builder
	for w := range strings.SplitSeq(kind, "_") {
		if w != "" {
			b.WriteString(strings.ToUpper(w[:1]) + w[1:])
		}
	}
	return b.String()
}
