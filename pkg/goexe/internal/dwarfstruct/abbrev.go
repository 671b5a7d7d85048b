package dwarfstruct

import "fmt"

// DWARF constants used here (DWARF 5, section 7).
const (
	tagCompileUnit = 0x11
	tagPartialUnit = 0x3c
	tagStructType  = 0x13
	tagTypedef     = 0x16
	tagMember      = 0x0d

	atName               = 0x03
	atByteSize           = 0x0b
	atDataMemberLocation = 0x38
	atType               = 0x49

	formImplicitConst = 0x21
	formIndirect      = 0x16

	opPlusUconst = 0x23
)

// Abbreviation table limits.
const (
	maxAbbrevs    = 1 << 16
	maxAbbrevAttr = 512
)

type attrSpec struct {
	attr, form uint64
	implicit   int64 // value of a DW_FORM_implicit_const
}

type abbrev struct {
	tag      uint64
	children bool
	attrs    []attrSpec
}

// parseAbbrevs parses the abbreviation table at off in data.
func parseAbbrevs(data []byte, off uint64) (map[uint64]abbrev, error) {
	if off >= uint64(len(data)) {
		return nil, fmt.Errorf("abbreviation table at %#x beyond %d bytes: %w", off, len(data), ErrFormat)
	}
	r := reader{data: data, pos: int(off)}
	out := map[uint64]abbrev{}
	for {
		code := r.uleb()
		if r.err != nil {
			return nil, r.err
		}
		if code == 0 {
			return out, nil
		}
		if len(out) >= maxAbbrevs {
			return nil, fmt.Errorf("over %d abbreviations: %w", maxAbbrevs, ErrFormat)
		}
		a := abbrev{tag: r.uleb(), children: r.u8() != 0}
		for {
			s := attrSpec{attr: r.uleb(), form: r.uleb()}
			if s.form == formImplicitConst {
				s.implicit = r.sleb()
			}
			if r.err != nil {
				return nil, r.err
			}
			if s.attr == 0 && s.form == 0 {
				break
			}
			if len(a.attrs) >= maxAbbrevAttr {
				return nil, fmt.Errorf("abbreviation %d: over %d attributes: %w", code, maxAbbrevAttr, ErrFormat)
			}
			a.attrs = append(a.attrs, s)
		}
		out[code] = a
	}
}
