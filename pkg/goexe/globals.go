package goexe

import "fmt"

// findGlobals locates the runtime globals memsight reads: from .symtab when
// the binary has one, else by decoding small runtime functions that
// reference them (decodeGlobals). A global located neither way stays
// unknown (Addr 0) with Err saying why.
func findGlobals(b *Binary) RuntimeGlobals {
	g := symtabGlobals(b)
	var d *RuntimeGlobals
	for _, e := range globalEntries(&g) {
		if e.g.Known() {
			continue
		}
		if d == nil {
			dg := decodeGlobals(b)
			d = &dg
		}
		*e.g = *globalEntries(d)[e.idx].g
	}
	return g
}

// globalEntry names one field of RuntimeGlobals.
type globalEntry struct {
	idx  int
	name string // runtime symbol name
	g    *Global
}

// globalEntries lists the fields of g with their runtime symbol names.
func globalEntries(g *RuntimeGlobals) []globalEntry {
	list := []struct {
		name string
		g    *Global
	}{
		{"runtime.fing", &g.Fing},
		{"runtime.fingStatus", &g.FingStatus},
		{"runtime.finqueued", &g.FinQueued},
		{"runtime.finexecuted", &g.FinExecuted},
		{"runtime.finq", &g.Finq},
		{"runtime.gcCleanups", &g.GCCleanups},
		{"runtime.allgs", &g.AllGs},
		{"runtime.allglen", &g.AllGLen},
		{"runtime.allp", &g.AllP},
		{"runtime.gcController", &g.GCController},
		{"runtime.memstats", &g.Memstats},
		{"runtime.MemProfileRate", &g.MemProfileRate},
		{"runtime.mbuckets", &g.MBuckets},
		{"runtime.mheap_", &g.MHeap},
		{"runtime.allfin", &g.AllFin},
	}
	out := make([]globalEntry, len(list))
	for i, e := range list {
		out[i] = globalEntry{idx: i, name: e.name, g: e.g}
	}
	return out
}

// symtabGlobals reads every global from .symtab.
func symtabGlobals(b *Binary) RuntimeGlobals {
	var g RuntimeGlobals
	for _, e := range globalEntries(&g) {
		if a, _, ok := b.Symbol(e.name); ok && a != 0 {
			*e.g = Global{Addr: a, Source: "symtab"}
			continue
		}
		if b.Stripped {
			e.g.Err = "binary has no .symtab"
		} else {
			e.g.Err = fmt.Sprintf("%s not in .symtab", e.name)
		}
	}
	return g
}
