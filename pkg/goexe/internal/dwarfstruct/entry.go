package dwarfstruct

import "fmt"

// unit is one compile unit, decoded through a window of its entries.
type unit struct {
	start    uint64 // section offset of the unit header (CU-relative references count from here)
	base     uint64 // section offset of data[0]
	data     []byte // the window
	version  int
	addrSize int
	offSize  int // 4, or 8 for 64-bit DWARF
	abbrevs  map[uint64]abbrev
}

// entry is what one debugging information entry says that this package uses.
type entry struct {
	off      uint64 // section offset
	next     int    // index in unit.data of the following entry
	null     bool   // a null entry: the end of a sibling list
	tag      uint64
	children bool

	name            []byte
	hasName         bool
	byteSize, loc   int64
	hasSize, hasLoc bool
	typeRef         uint64 // section offset of the DW_AT_type entry
	hasType         bool
}

// value classes of a decoded attribute.
const (
	classOther = iota
	classConst // unsigned constant in u (data1..8, udata)
	classSigned
	classString
	classRef // reference, section offset in u
	classBlock
)

// entry decodes the entry at index at of u.data.
func (u *unit) entry(at int) (entry, error) {
	r := reader{data: u.data, pos: at}
	e := entry{off: u.base + uint64(at)}
	code := r.uleb()
	if r.err != nil {
		return entry{}, r.err
	}
	if code == 0 {
		e.null, e.next = true, r.pos
		return e, nil
	}
	a, ok := u.abbrevs[code]
	if !ok {
		return entry{}, fmt.Errorf("entry %#x: unknown abbreviation %d: %w", e.off, code, ErrFormat)
	}
	e.tag, e.children = a.tag, a.children
	for _, s := range a.attrs {
		class, v, sv, b := u.value(&r, s.form, s.implicit)
		if r.err != nil {
			return entry{}, fmt.Errorf("entry %#x: %w", e.off, r.err)
		}
		switch s.attr {
		case atName:
			if class == classString {
				e.name, e.hasName = b, true
			}
		case atByteSize:
			e.byteSize, e.hasSize = constant(class, v, sv)
		case atDataMemberLocation:
			e.loc, e.hasLoc = constant(class, v, sv)
			if class == classBlock && len(b) > 0 && b[0] == opPlusUconst {
				br := reader{data: b, pos: 1}
				if x := br.uleb(); br.err == nil && x <= 1<<62 {
					e.loc, e.hasLoc = int64(x), true
				}
			}
		case atType:
			if class == classRef {
				e.typeRef, e.hasType = v, true
			}
		}
	}
	e.next = r.pos
	return e, nil
}

// constant returns a constant attribute's value.
func constant(class int, v uint64, sv int64) (int64, bool) {
	switch class {
	case classConst:
		return int64(v), v <= 1<<62
	case classSigned:
		return sv, true
	}
	return 0, false
}

// maxIndirect bounds chains of DW_FORM_indirect.
const maxIndirect = 4

// value reads one attribute value of the given form. For references u is
// the section offset of the target.
func (u *unit) value(r *reader, form uint64, implicit int64) (class int, v uint64, sv int64, b []byte) {
	for range maxIndirect {
		if form != formIndirect {
			break
		}
		form = r.uleb()
	}
	switch form {
	case 0x01: // addr
		r.uint(u.addrSize)
	case 0x03: // block2
		b = r.bytes(r.uint(2))
		return classBlock, 0, 0, b
	case 0x04: // block4
		b = r.bytes(r.uint(4))
		return classBlock, 0, 0, b
	case 0x09, 0x18: // block, exprloc
		b = r.bytes(r.uleb())
		return classBlock, 0, 0, b
	case 0x0a: // block1
		b = r.bytes(uint64(r.u8()))
		return classBlock, 0, 0, b
	case 0x0b: // data1
		return classConst, uint64(r.u8()), 0, nil
	case 0x05: // data2
		return classConst, r.uint(2), 0, nil
	case 0x06: // data4
		return classConst, r.uint(4), 0, nil
	case 0x07: // data8
		return classConst, r.uint(8), 0, nil
	case 0x0f: // udata
		return classConst, r.uleb(), 0, nil
	case 0x0d: // sdata
		return classSigned, 0, r.sleb(), nil
	case formImplicitConst:
		return classSigned, 0, implicit, nil
	case 0x08: // string
		return classString, 0, 0, r.cstring()
	case 0x11: // ref1
		return classRef, u.start + uint64(r.u8()), 0, nil
	case 0x12: // ref2
		return classRef, u.start + r.uint(2), 0, nil
	case 0x13: // ref4
		return classRef, u.start + r.uint(4), 0, nil
	case 0x14: // ref8
		return classRef, u.start + r.uint(8), 0, nil
	case 0x15: // ref_udata
		return classRef, u.start + r.uleb(), 0, nil
	case 0x10: // ref_addr: a section offset (an address-sized one in DWARF 2)
		n := u.offSize
		if u.version == 2 {
			n = u.addrSize
		}
		return classRef, r.uint(n), 0, nil
	case 0x0c, 0x25, 0x29: // flag, strx1, addrx1
		r.u8()
	case 0x26, 0x2a: // strx2, addrx2
		r.uint(2)
	case 0x27, 0x2b: // strx3, addrx3
		r.uint(3)
	case 0x1c, 0x28, 0x2c: // ref_sup4, strx4, addrx4
		r.uint(4)
	case 0x20, 0x24: // ref_sig8, ref_sup8
		r.uint(8)
	case 0x1e: // data16
		r.bytes(16)
	case 0x0e, 0x17, 0x1d, 0x1f, 0x1f20, 0x1f21: // strp, sec_offset, strp_sup, line_strp, GNU_ref_alt, GNU_strp_alt
		r.uint(u.offSize)
	case 0x1a, 0x1b, 0x22, 0x23, 0x1f01, 0x1f02: // strx, addrx, loclistx, rnglistx, GNU_addr_index, GNU_str_index
		r.uleb()
	case 0x19: // flag_present
	default:
		if r.err == nil {
			r.err = fmt.Errorf("unknown attribute form %#x: %w", form, ErrFormat)
		}
	}
	return classOther, 0, 0, nil
}
