package dwarfstruct

import "strings"

// Resolution limits.
const (
	maxDepth   = 256 // nesting of entries
	maxTargets = 1 << 12
	maxHops    = 8 // typedefs followed in the window
)

// target is a member path being resolved: struct key, the full path, the
// offset of the member reached so far and the parts still to resolve.
type target struct {
	key, path string
	base      int64
	rest      []string
}

// resolver follows the wanted paths through the entries of one unit as
// they stream by. A member's type that comes later is queued (pending); one
// that is still in the window is read from there; one further back waits
// for another pass (behind).
type resolver struct {
	want    map[string][]string
	found   map[string]bool
	out     map[string]Struct
	pending map[uint64][]target // entry offset -> targets that continue there
	behind  map[uint64][]target // targets whose entry was already passed
	count   int

	u      *unit    // the window
	cursor uint64   // offset of the entry being visited
	cur    []target // targets matched against the members streaming by
	depth  int      // depth of the struct entry whose members stream by
}

func (r *resolver) visit(e entry, depth int) {
	r.cursor = e.off
	if r.cur != nil && depth <= r.depth {
		r.cur = nil // the members of the current struct ended
	}
	if r.cur != nil {
		if depth == r.depth+1 {
			r.member(e, r.cur)
		}
		return
	}
	if depth == 1 && e.tag == tagStructType && e.hasName {
		if paths, ok := r.want[string(e.name)]; ok && !r.found[string(e.name)] {
			key := string(e.name)
			if r.found == nil {
				r.found = map[string]bool{}
			}
			r.found[key] = true
			r.out[key] = Struct{Size: e.byteSize, Fields: map[string]int64{}}
			var ts []target
			for _, p := range paths {
				ts = append(ts, target{key: key, path: p, rest: strings.Split(p, ".")})
			}
			if e.children {
				r.cur, r.depth = ts, depth
			}
			return
		}
	}
	if ts, ok := r.pending[e.off]; ok {
		delete(r.pending, e.off)
		switch {
		case e.tag == tagTypedef && e.hasType:
			r.add(e.typeRef, ts)
		case e.tag == tagStructType && e.children:
			r.cur, r.depth = ts, depth
		}
	}
}

// member resolves targets against one member entry.
func (r *resolver) member(e entry, ts []target) {
	if e.tag != tagMember || !e.hasName || !e.hasLoc {
		return
	}
	for _, t := range ts {
		if t.rest[0] != string(e.name) {
			continue
		}
		if len(t.rest) == 1 {
			r.out[t.key].Fields[t.path] = t.base + e.loc
			continue
		}
		if e.hasType {
			r.add(e.typeRef, []target{{t.key, t.path, t.base + e.loc, t.rest[1:]}})
		}
	}
}

// add continues targets at the entry at off.
func (r *resolver) add(off uint64, ts []target) {
	if r.count += len(ts); r.count > maxTargets {
		return
	}
	switch {
	case off > r.cursor:
		r.pending[off] = append(r.pending[off], ts...)
	case !r.inWindow(off, ts, 0):
		if r.behind == nil {
			r.behind = map[uint64][]target{}
		}
		r.behind[off] = append(r.behind[off], ts...)
	}
}

// inWindow resolves targets at an entry already passed that is still in the
// window; false when it is not there.
func (r *resolver) inWindow(off uint64, ts []target, hops int) bool {
	u := r.u
	if u == nil || off < u.base || off-u.base >= uint64(len(u.data)) || hops > maxHops {
		return false
	}
	e, err := u.entry(int(off - u.base))
	if err != nil {
		return true // malformed: the targets stay unresolved
	}
	switch {
	case e.tag == tagTypedef && e.hasType:
		if e.typeRef > r.cursor {
			r.pending[e.typeRef] = append(r.pending[e.typeRef], ts...)
			return true
		}
		return r.inWindow(e.typeRef, ts, hops+1)
	case e.tag != tagStructType || !e.children:
		return true
	}
	// Decode the members, which end before the cursor.
	depth := 1
	for at := e.next; depth > 0; {
		if at >= len(u.data) {
			return false
		}
		c, err := u.entry(at)
		if err != nil {
			return true
		}
		at = c.next
		if c.null {
			depth--
			continue
		}
		if depth == 1 {
			r.member(c, ts)
		}
		if c.children {
			if depth++; depth > maxDepth {
				return true
			}
		}
	}
	return true
}
