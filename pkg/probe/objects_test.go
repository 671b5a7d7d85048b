package probe

import (
	"slices"
	"testing"
	"unsafe"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
)

// TestObjectsConsistent checks that the committed objects of both
// architectures have the same programs, maps and shared record layouts (the
// arm64 one cannot be loaded here, but it can be read).
func TestObjectsConsistent(t *testing.T) {
	var specs []*ebpf.CollectionSpec
	for _, obj := range []string{"memsight_x86_bpfel.o", "memsight_arm64_bpfel.o"} {
		spec, err := ebpf.LoadCollectionSpec(obj)
		if err != nil {
			t.Fatalf("reading %s: %v", obj, err)
		}
		specs = append(specs, spec)
	}
	x86, arm := specs[0], specs[1]
	names := func(m map[string]*ebpf.ProgramSpec) []string {
		var out []string
		for n := range m {
			out = append(out, n)
		}
		slices.Sort(out)
		return out
	}
	if a, b := names(x86.Programs), names(arm.Programs); !slices.Equal(a, b) {
		t.Errorf("programs differ: x86 %v, arm64 %v", a, b)
	}
	for name, ms := range x86.Maps {
		if other, ok := arm.Maps[name]; !ok || other.Type != ms.Type || other.KeySize != ms.KeySize ||
			other.ValueSize != ms.ValueSize || other.MaxEntries != ms.MaxEntries {
			t.Errorf("map %s differs between x86 and arm64", name)
		}
	}
	goSizes := map[string]uintptr{
		"event": unsafe.Sizeof(memsightEvent{}), "exit_event": unsafe.Sizeof(memsightExitEvent{}),
		"proc_state": unsafe.Sizeof(memsightProcState{}), "binconfig": unsafe.Sizeof(memsightBinconfig{}),
		"run_key": unsafe.Sizeof(memsightRunKey{}), "run": unsafe.Sizeof(memsightRun{}),
	}
	for typ, goSize := range goSizes {
		var sizes []int
		for _, spec := range specs {
			var s *btf.Struct
			if err := spec.Types.TypeByName(typ, &s); err != nil {
				t.Fatalf("struct %s: %v", typ, err)
			}
			n, err := btf.Sizeof(s)
			if err != nil {
				t.Fatal(err)
			}
			sizes = append(sizes, n)
		}
		if sizes[0] != sizes[1] || uintptr(sizes[0]) != goSize {
			t.Errorf("struct %s: %d bytes on x86, %d on arm64, %d in Go", typ, sizes[0], sizes[1], goSize)
		}
	}
}
