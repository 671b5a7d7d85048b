package pclntab

// pcvalue decodes the pc-value table at off in pctab for function f and returns
// the value at the link-time pc. ok is false when the table is absent, does not
// cover pc or is malformed.
func (t *Table) pcvalue(f Func, off uint32, pc uint64) (val int32, ok bool) {
	if off == 0 || int(off) >= len(t.pctab) || pc < f.Entry || pc >= f.End {
		return 0, false
	}
	p := t.pctab[off:]
	cur := f.Entry
	val = -1
	// Each step consumes at least 2 bytes of p, so the loop ends.
	for first := true; ; first = false {
		var uv, pcd uint32
		var n int
		uv, n = uvarint(p)
		if n <= 0 || (uv == 0 && !first) {
			return 0, false
		}
		p = p[n:]
		val += int32(-(uv & 1) ^ (uv >> 1))
		pcd, n = uvarint(p)
		if n <= 0 {
			return 0, false
		}
		p = p[n:]
		next := cur + uint64(pcd)*uint64(t.quantum)
		if pc < next {
			return val, true
		}
		cur = next
	}
}

// uvarint reads a little-endian base-128 uint32. n is 0 on truncated or
// overlong input.
func uvarint(p []byte) (v uint32, n int) {
	var shift uint
	for i, b := range p {
		if i == 5 {
			return 0, 0
		}
		v |= uint32(b&0x7f) << shift
		if b&0x80 == 0 {
			return v, i + 1
		}
		shift += 7
	}
	return 0, 0
}

// SPDelta returns the stack-pointer delta (frame size in use) at the link-time
// pc of function f: on amd64 the return address is at SP+delta.
func (t *Table) SPDelta(f Func, pc uint64) (int64, bool) {
	v, ok := t.pcvalue(f, f.pcsp, pc)
	if !ok || v < 0 {
		return 0, false
	}
	return int64(v), true
}

// PCData returns the value of the function's PCDATA table i at pc.
func (t *Table) PCData(f Func, i uint32, pc uint64) (int32, bool) {
	return t.pcvalue(f, t.pcdataOff(f, i), pc)
}

// FileLine returns the file and line of the physical function f at pc. When f
// has inlined calls at pc, that is the innermost inlinee's position.
// It returns "?", 0 when unknown, like the runtime.
func (t *Table) FileLine(f Func, pc uint64) (file string, line int) {
	fileno, ok1 := t.pcvalue(f, f.pcfile, pc)
	ln, ok2 := t.pcvalue(f, f.pcln, pc)
	if !ok1 || !ok2 || fileno < 0 {
		return "?", 0
	}
	name, ok := t.file(f, fileno)
	if !ok {
		return "?", 0
	}
	return name, int(ln)
}

// file resolves a per-function file number through the CU table.
func (t *Table) file(f Func, fileno int32) (string, bool) {
	idx := uint64(f.cuOffset) + uint64(fileno)
	if idx >= uint64(len(t.cutab))/4 {
		return "", false
	}
	off := t.u32(t.cutab, int(idx)*4)
	if off == ^uint32(0) {
		return "", false
	}
	return cstring(t.filetab, int(off))
}
