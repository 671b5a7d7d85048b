package goexe

import (
	"bytes"
	"io"
	"slices"
	"strings"

	"github.com/memsight/memsight/pkg/goexe/internal/pclntab"
)

// The name index covers the functions memsight looks up by name: those of
// package runtime (probe points, the functions globals are decoded from,
// the heap profile's) and of runtime/cgo (UsesCgo). A few thousand entries
// of 8 bytes, whatever the size of the binary; other names are found by a
// scan.
func indexed(name string) bool {
	return strings.HasPrefix(name, "runtime.") || strings.HasPrefix(name, "runtime/cgo.")
}

// funcIndex maps a hash of an indexed name to the functions with that name.
type funcIndex struct {
	// keys are hash<<32 | function index, sorted.
	keys []uint64
	// cgo reports a function of package runtime/cgo.
	cgo bool
}

// build scans every function name of tab through r (not the mapping).
func (x *funcIndex) build(tab *pclntab.Table, r io.ReaderAt) error {
	var keys []uint64
	cgo := false
	err := tab.Scan(r, func(i int, name []byte) bool {
		isCgo := bytes.HasPrefix(name, []byte("runtime/cgo."))
		if !isCgo && !bytes.HasPrefix(name, []byte("runtime.")) {
			return true
		}
		keys = append(keys, uint64(nameHash(name))<<32|uint64(uint32(i)))
		cgo = cgo || isCgo
		return true
	})
	if err != nil {
		return err
	}
	slices.Sort(keys)
	x.keys, x.cgo = slices.Clone(keys), cgo
	return nil
}

// lookup returns the indexes of the functions whose name may be name (same
// hash), in table order.
func (x *funcIndex) lookup(name string) []int {
	h := uint64(nameHash([]byte(name))) << 32
	i, _ := slices.BinarySearch(x.keys, h)
	var out []int
	for ; i < len(x.keys) && x.keys[i]&^0xffffffff == h; i++ {
		out = append(out, int(uint32(x.keys[i])))
	}
	return out
}

// nameHash is 32-bit FNV-1a.
func nameHash(s []byte) uint32 {
	h := uint32(2166136261)
	for _, c := range s {
		h ^= uint32(c)
		h *= 16777619
	}
	return h
}
