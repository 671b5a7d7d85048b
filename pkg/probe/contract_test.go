package probe

import (
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
)

// contractSpecs are the collection specs the contract is checked against:
// the one New loads (loadMemsight, this architecture's) and both committed
// objects.
func contractSpecs(t *testing.T) map[string]*ebpf.CollectionSpec {
	t.Helper()
	specs := map[string]*ebpf.CollectionSpec{}
	spec, err := loadMemsight()
	if err != nil {
		t.Fatalf("reading the embedded BPF object: %v", err)
	}
	specs["loadMemsight"] = spec
	for _, obj := range []string{"memsight_x86_bpfel.o", "memsight_arm64_bpfel.o"} {
		if specs[obj], err = ebpf.LoadCollectionSpec(obj); err != nil {
			t.Fatalf("reading %s: %v", obj, err)
		}
	}
	return specs
}

// TestContract checks what the Go side assumes of the BPF object against
// the object itself: every map's size against the enum limit constants
// (and the Go tables sized from them), and every enum the two sides share
// against the values the Go code uses, so that neither side can change a
// number without the other.
func TestContract(t *testing.T) {
	mapSizes := map[string]int{
		"watched":          int(memsightLimitMAX_PROCS),
		"procs":            int(memsightLimitMAX_PROCS),
		"binconfigs":       maxBinconfigs,
		"cleanup_runs":     int(memsightLimitMAX_RUNS),
		"events":           int(memsightLimitRINGBUF_BYTES),
		"drops":            1,
		"entry_last":       int(memsightLimitMAX_ENTRY_LAST),
		"stw_stops":        int(memsightLimitMAX_STW_STOPS),
		"alloc_sites":      int(memsightLimitALLOC_MAX_SITES),
		"alloc_hits":       maxAllocSlots,
		"alloc_span_bytes": allocNumClasses,
		"alloc_counters":   int(memsightAllocCounterALLOC_CNT_MAX),
		"alloc_last":       1,
	}
	enums := map[string]map[string]uint64{
		"limit": {
			"MAX_PROCS": uint64(memsightLimitMAX_PROCS), "MAX_BINCONFIGS": uint64(maxBinconfigs),
			"MAX_RUNS": uint64(memsightLimitMAX_RUNS), "MAX_ENTRY_LAST": uint64(memsightLimitMAX_ENTRY_LAST),
			"MAX_STW_STOPS": uint64(memsightLimitMAX_STW_STOPS), "RINGBUF_BYTES": 1 << 20,
			"ALLOC_MAX_SITES": uint64(memsightLimitALLOC_MAX_SITES), "ALLOC_MAX_SLOTS": uint64(maxAllocSlots),
			"ALLOC_NUM_CLASSES": uint64(allocNumClasses), "ALLOC_MAX_FRAMES": uint64(allocMaxFrames),
		},
		"cookie_layout": {
			"COOKIE_INDEX_BITS": cookieIndexBits, "COOKIE_ENTRY_DELTA_SHIFT": cookieEntryDeltaShift,
			"COOKIE_ENTRY_DELTA_BITS": cookieEntryDeltaBits, "COOKIE_ALLOC_MODE_SHIFT": cookieAllocModeShift,
			"COOKIE_ALLOC_MODE_BITS":   uint64(memsightCookieLayoutCOOKIE_ALLOC_MODE_BITS),
			"COOKIE_ALLOC_DELTA_SHIFT": cookieAllocDeltaShift, "COOKIE_ALLOC_DELTA_BITS": cookieAllocDeltaBits,
			"COOKIE_FUNC_SIZE_SHIFT": cookieFuncSizeShift,
		},
		"stw_reason": {"STW_GC_MARK_TERM": uint64(STWReasonGCMarkTerm), "STW_GC_SWEEP_TERM": uint64(STWReasonGCSweepTerm)},
		"event_kind": {
			"EV_FIN_START": uint64(FinalizerStart), "EV_FIN_END": uint64(FinalizerEnd),
			"EV_CLEANUP_START": uint64(CleanupStart), "EV_CLEANUP_END": uint64(CleanupEnd),
			"EV_STW_END": uint64(STWEnd), "EV_EXIT": uint64(ProcessExit), "EV_EXEC": uint64(ProcessExec),
		},
		"event_flag": {
			"EVF_GC_END": uint64(memsightEventFlagEVF_GC_END), "EVF_NO_START": uint64(memsightEventFlagEVF_NO_START),
			"EVF_BY_TID": uint64(memsightEventFlagEVF_BY_TID), "EVF_NO_PC": uint64(memsightEventFlagEVF_NO_PC),
		},
		"cleanup_mode": {
			"CLEANUP_NONE": uint64(cleanupMode(23)), "CLEANUP_GO124": uint64(cleanupMode(24)),
			"CLEANUP_GO125": uint64(cleanupMode(25)), "CLEANUP_GO126": uint64(cleanupMode(26)),
		},
		"binconfig_flag": {"CFG_VALID": uint64(memsightBinconfigFlagCFG_VALID)},
		"alloc_size_mode": {
			"ALLOC_SIZE_ARG1": uint64(memsightAllocSizeModeALLOC_SIZE_ARG1), "ALLOC_SIZE_ARG2": uint64(memsightAllocSizeModeALLOC_SIZE_ARG2),
			"ALLOC_SIZE_PAGES_ARG2": uint64(memsightAllocSizeModeALLOC_SIZE_PAGES_ARG2),
			"ALLOC_SIZE_SPAN_ARG2":  uint64(memsightAllocSizeModeALLOC_SIZE_SPAN_ARG2),
		},
		"alloc_counter": {
			"ALLOC_CNT_NESTED": uint64(memsightAllocCounterALLOC_CNT_NESTED), "ALLOC_CNT_STACK_ERR": uint64(memsightAllocCounterALLOC_CNT_STACK_ERR),
			"ALLOC_CNT_SITES_FULL": uint64(memsightAllocCounterALLOC_CNT_SITES_FULL), "ALLOC_CNT_MAX": 3,
		},
	}
	for name, spec := range contractSpecs(t) {
		seen := map[string]bool{}
		for m, ms := range spec.Maps {
			if strings.HasPrefix(m, ".") { // .bss and the like: globals, not maps of the contract
				continue
			}
			seen[m] = true
			want, ok := mapSizes[m]
			if !ok {
				t.Errorf("%s: map %s (%d entries) has no size in this test: add it to enum limit and here", name, m, ms.MaxEntries)
			} else if int(ms.MaxEntries) != want {
				t.Errorf("%s: map %s has %d entries, the Go side assumes %d", name, m, ms.MaxEntries, want)
			}
		}
		for m := range mapSizes {
			if !seen[m] {
				t.Errorf("%s: no map %s", name, m)
			}
		}
		for enum, want := range enums {
			var e *btf.Enum
			if err := spec.Types.TypeByName(enum, &e); err != nil {
				t.Errorf("%s: enum %s: %v", name, enum, err)
				continue
			}
			got := map[string]uint64{}
			for _, v := range e.Values {
				got[v.Name] = v.Value
				if w, ok := want[v.Name]; !ok {
					t.Errorf("%s: enum %s: %s = %d is unknown to the Go side", name, enum, v.Name, v.Value)
				} else if w != v.Value {
					t.Errorf("%s: enum %s: %s = %d, the Go side uses %d", name, enum, v.Name, v.Value, w)
				}
			}
			for n := range want {
				if _, ok := got[n]; !ok {
					t.Errorf("%s: enum %s has no %s", name, enum, n)
				}
			}
		}
	}
}

// TestCookieLayout checks that the cookie fields do not overlap and that
// every index and value the Go side packs fits its field.
func TestCookieLayout(t *testing.T) {
	type field struct {
		name        string
		shift, bits uint64
	}
	entry := []field{
		{"index", 0, cookieIndexBits},
		{"entry delta", cookieEntryDeltaShift, cookieEntryDeltaBits},
		{"function size", cookieFuncSizeShift, 64 - cookieFuncSizeShift},
	}
	alloc := []field{
		{"index", 0, cookieIndexBits},
		{"alloc mode", cookieAllocModeShift, uint64(memsightCookieLayoutCOOKIE_ALLOC_MODE_BITS)},
		{"alloc delta", cookieAllocDeltaShift, cookieAllocDeltaBits},
		{"function size", cookieFuncSizeShift, 64 - cookieFuncSizeShift},
	}
	for _, layout := range [][]field{entry, alloc} {
		var used uint64
		for _, f := range layout {
			mask := (uint64(1)<<f.bits - 1) << f.shift
			if f.shift+f.bits > 64 || used&mask != 0 {
				t.Errorf("cookie field %s (bits %d-%d) overlaps another", f.name, f.shift, f.shift+f.bits-1)
			}
			used |= mask
		}
	}
	if maxBinconfigs > 1<<cookieIndexBits || maxAllocSlots > 1<<cookieIndexBits {
		t.Errorf("binconfigs (%d) or alloc_hits (%d) has more entries than a cookie index can name (%d bits)",
			maxBinconfigs, maxAllocSlots, cookieIndexBits)
	}
	if m := uint64(memsightAllocSizeModeALLOC_SIZE_SPAN_ARG2); m >= 1<<uint64(memsightCookieLayoutCOOKIE_ALLOC_MODE_BITS) {
		t.Errorf("alloc size mode %d does not fit the cookie", m)
	}
}
