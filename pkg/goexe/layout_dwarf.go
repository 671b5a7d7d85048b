package goexe

import (
	"debug/dwarf"
	"fmt"
	"runtime/debug"
	"strings"
)

// dwarfLayout reads every layoutSpec field from the binary's DWARF.
func dwarfLayout(b *Binary) (l Layout, err error) {
	defer guard(&err, "reading struct layouts from DWARF", debug.SetPanicOnFault(true))
	d, err := b.DWARF()
	if err != nil {
		return Layout{}, err
	}
	spec := layoutSpec()
	want := map[string]int{} // DWARF name -> spec index
	for i, s := range spec {
		for _, n := range s.Names {
			want[n] = i
		}
	}
	found := map[int]dwarf.Offset{}
	r := d.Reader()
	for len(found) < len(spec) {
		e, err := r.Next()
		if err != nil {
			return Layout{}, fmt.Errorf("reading DWARF: %v: %w", err, ErrBadELF)
		}
		if e == nil {
			break
		}
		if e.Tag == dwarf.TagCompileUnit {
			continue // descend into the unit's top-level entries
		}
		if e.Tag == dwarf.TagStructType {
			if name, _ := e.Val(dwarf.AttrName).(string); name != "" {
				if i, ok := want[name]; ok {
					if _, dup := found[i]; !dup {
						found[i] = e.Offset
					}
				}
			}
		}
		if e.Children {
			r.SkipChildren()
		}
	}
	if _, ok := found[0]; !ok {
		return Layout{}, fmt.Errorf("DWARF has no runtime.g: %w", ErrNoDWARF)
	}
	l = Layout{Source: "dwarf", Fields: map[string]int64{}, Consts: map[string]int64{}, Names: map[string]string{}}
	for i, s := range spec {
		off, ok := found[i]
		if !ok {
			continue
		}
		t, err := d.Type(off)
		if err != nil {
			return Layout{}, fmt.Errorf("DWARF type %s: %v: %w", s.Key, err, ErrBadELF)
		}
		st, ok := underlyingStruct(t)
		if !ok {
			return Layout{}, fmt.Errorf("DWARF type %s is a %T: %w", s.Key, t, ErrBadELF)
		}
		l.Consts[SizeKey(s.Key)] = st.ByteSize
		for _, path := range s.Fields {
			if o, ok := fieldOffset(st, path); ok {
				l.Fields[s.Key+"."+path] = o
			}
		}
	}
	return l, nil
}

// fieldOffset resolves a dotted member path inside st.
func fieldOffset(st *dwarf.StructType, path string) (int64, bool) {
	var off int64
	parts := strings.Split(path, ".")
	for i, p := range parts {
		var f *dwarf.StructField
		for _, c := range st.Field {
			if c.Name == p {
				f = c
				break
			}
		}
		if f == nil {
			return 0, false
		}
		off += f.ByteOffset
		if i == len(parts)-1 {
			return off, true
		}
		next, ok := underlyingStruct(f.Type)
		if !ok {
			return 0, false
		}
		st = next
	}
	return 0, false
}

// underlyingStruct follows typedefs (Go names its struct types through
// DW_TAG_typedef) to a struct type.
func underlyingStruct(t dwarf.Type) (*dwarf.StructType, bool) {
	for i := 0; i < 8; i++ {
		switch x := t.(type) {
		case *dwarf.StructType:
			return x, true
		case *dwarf.TypedefType:
			t = x.Type
		default:
			return nil, false
		}
	}
	return nil, false
}
