package goexe

import (
	_ "embed"
	"encoding/json"
	"fmt"
)

// layoutTableJSON holds the struct layouts and wait reasons of every
// supported Go version, for binaries without DWARF. It is generated from the
// DWARF of real binaries and the runtime sources of each toolchain by
// pkg/goexe/internal/layoutgen; TestLayoutTableMatchesDWARF keeps it honest.
//
//go:embed layout_table.json
var layoutTableJSON []byte

// LayoutTable is the format of layout_table.json.
type LayoutTable struct {
	Comment  string                  `json:"comment"`
	Versions map[string]VersionTable `json:"versions"` // "go1.26"
}

// VersionTable is one Go minor version's entry of the layout table.
type VersionTable struct {
	// From is the toolchain the entry was generated from ("go1.26.8").
	From string              `json:"from"`
	Arch map[Arch]ArchLayout `json:"arch"`
	// WaitReasons is runtime.waitReasonStrings: index = g.waitreason value.
	WaitReasons []string `json:"waitReasons"`
}

// ArchLayout is the layout of one version on one architecture.
type ArchLayout struct {
	Fields map[string]int64 `json:"fields"`
	Sizes  map[string]int64 `json:"sizes"` // canonical struct key -> size
}

// versionKey is the table key of a version: "go1.26".
func versionKey(v Version) string { return fmt.Sprintf("go%d.%d", v.Major, v.Minor) }

// loadLayoutTable decodes the embedded table.
func loadLayoutTable() (LayoutTable, error) {
	var t LayoutTable
	if err := json.Unmarshal(layoutTableJSON, &t); err != nil {
		return LayoutTable{}, fmt.Errorf("decoding the embedded layout table: %w", err)
	}
	return t, nil
}

// tableLayout returns the table's layout for a version and architecture.
func tableLayout(v Version, arch Arch) (Layout, error) {
	t, err := loadLayoutTable()
	if err != nil {
		return Layout{}, err
	}
	vt, ok := t.Versions[versionKey(v)]
	if !ok {
		return Layout{}, fmt.Errorf("no layout table for %s: %w", versionKey(v), ErrUnsupportedGo)
	}
	al, ok := vt.Arch[arch]
	if !ok {
		return Layout{}, fmt.Errorf("no layout table for %s/%s: %w", versionKey(v), arch, ErrUnsupportedGo)
	}
	l := Layout{
		Source: "table:" + versionKey(v),
		Fields: make(map[string]int64, len(al.Fields)),
		Consts: map[string]int64{},
		Names:  map[string]string{},
	}
	for k, o := range al.Fields {
		l.Fields[k] = o
	}
	for k, s := range al.Sizes {
		l.Consts[SizeKey(k)] = s
	}
	return l, nil
}

// tableWaitReasons returns the table's waitReasonStrings for a version.
func tableWaitReasons(v Version) ([]string, string) {
	t, err := loadLayoutTable()
	if err != nil {
		return nil, ""
	}
	vt, ok := t.Versions[versionKey(v)]
	if !ok || len(vt.WaitReasons) == 0 {
		return nil, ""
	}
	return vt.WaitReasons, "table:" + versionKey(v)
}

// binaryWaitReasons reads runtime.waitReasonStrings ([N]string) from the
// binary itself when .symtab names it.
func binaryWaitReasons(b *Binary) ([]string, string) {
	addr, size, ok := b.Symbol("runtime.waitReasonStrings")
	if !ok || size == 0 || size%16 != 0 || size > 16*1024 {
		return nil, ""
	}
	data, err := b.ReadVA(addr, int(size))
	if err != nil {
		return nil, ""
	}
	m := &moduledataFinder{b: b}
	names := make([]string, size/16)
	for i := range names {
		ptr := m.word(data, addr, uint64(i)*16)
		n := m.word(data, addr, uint64(i)*16+8)
		if n == 0 {
			continue
		}
		if n > 256 {
			return nil, ""
		}
		s, err := b.ReadVA(ptr, int(n))
		if err != nil {
			return nil, ""
		}
		names[i] = string(s)
	}
	return names, "symtab"
}
