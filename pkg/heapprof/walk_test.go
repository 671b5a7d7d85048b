package heapprof

import (
	"encoding/binary"
	"errors"
	"fmt"
	"testing"
)

// fakeMem is a sparse address space of regions.
type fakeMem map[uint64][]byte

func (m fakeMem) ReadMemory(buf []byte, addr uint64) (int, error) {
	for base, data := range m {
		if addr >= base && addr+uint64(len(buf)) <= base+uint64(len(data)) {
			return copy(buf, data[addr-base:]), nil
		}
	}
	return 0, fmt.Errorf("%#x: not mapped", addr)
}

// layout126 and layout127 are the amd64 layouts of Go 1.26 and 1.27.
var (
	layout126 = recLayout{
		header: 48, allnext: 8, typ: 16, size: 32, nstk: 40,
		record: 128, active: 0, future: 32, cycle: 32,
		allocs: 0, frees: 8, allocBytes: 16, freeBytes: 24, hasBytes: true, maxStack: 1024,
	}
	layout127 = recLayout{
		header: 48, allnext: 8, typ: 16, size: 32, nstk: 40,
		record: 64, active: 0, future: 16, cycle: 16, allocs: 0, frees: 8, maxStack: 1024,
	}
)

// testBucket describes a bucket to lay out in fakeMem.
type testBucket struct {
	addr, allnext, typ, size uint64
	stk                      []uint64
	active                   counts
	future                   [3]counts
}

func (tb testBucket) put(m fakeMem, l recLayout) {
	le := binary.LittleEndian
	buf := make([]byte, l.header+uint64(len(tb.stk))*8+l.record)
	le.PutUint64(buf[l.allnext:], tb.allnext)
	le.PutUint64(buf[l.typ:], tb.typ)
	le.PutUint64(buf[l.size:], tb.size)
	le.PutUint64(buf[l.nstk:], uint64(len(tb.stk)))
	for i, pc := range tb.stk {
		le.PutUint64(buf[l.header+uint64(i)*8:], pc)
	}
	rec := buf[l.header+uint64(len(tb.stk))*8:]
	putCounts := func(b []byte, c counts) {
		le.PutUint64(b[l.allocs:], c.allocs)
		le.PutUint64(b[l.frees:], c.frees)
		if l.hasBytes {
			le.PutUint64(b[l.allocBytes:], c.allocBytes)
			le.PutUint64(b[l.freeBytes:], c.freeBytes)
		}
	}
	putCounts(rec[l.active:], tb.active)
	for i, c := range tb.future {
		putCounts(rec[l.future+uint64(i)*l.cycle:], c)
	}
	m[tb.addr] = buf
}

func TestWalkAndPublish(t *testing.T) {
	for _, l := range []recLayout{layout126, layout127} {
		t.Run(fmt.Sprintf("bytes=%v", l.hasBytes), func(t *testing.T) {
			m := fakeMem{}
			// Cycle 4: MemProfile flushes future[4%3 = 1] into active.
			testBucket{addr: 0x1000, allnext: 0x2000, typ: 1, size: 64, stk: []uint64{0x401001, 0x402002},
				active: counts{10, 4, 640, 256}, future: [3]counts{{100, 0, 6400, 0}, {2, 1, 128, 64}, {50, 50, 3200, 3200}}}.put(m, l)
			testBucket{addr: 0x2000, typ: 1, size: 1024, stk: []uint64{0x403003},
				active: counts{3, 0, 3072, 0}}.put(m, l)
			raw, truncated, err := (&walker{mem: m, lay: l, max: 10}).walk(0x1000)
			if err != nil || truncated || len(raw) != 2 {
				t.Fatalf("walk: %d buckets, truncated %v, %v", len(raw), truncated, err)
			}
			recs := publish(raw, 4, l.hasBytes)
			want := []Record{
				{Addr: 0x1000, ObjectSize: 64, Stack: []uint64{0x401001, 0x402002}, AllocObjects: 12, FreeObjects: 5, AllocBytes: 768, FreeBytes: 320},
				{Addr: 0x2000, ObjectSize: 1024, Stack: []uint64{0x403003}, AllocObjects: 3, AllocBytes: 3072},
			}
			if fmt.Sprint(recs) != fmt.Sprint(want) {
				t.Errorf("records\n%v\nwant\n%v", recs, want)
			}

			// No GC completed yet: every cycle is added, like MemProfile.
			m = fakeMem{}
			testBucket{addr: 0x1000, typ: 1, size: 64, stk: []uint64{1},
				future: [3]counts{{1, 0, 64, 0}, {0, 0, 0, 0}, {2, 1, 128, 64}}}.put(m, l)
			raw, _, err = (&walker{mem: m, lay: l, max: 10}).walk(0x1000)
			if err != nil {
				t.Fatal(err)
			}
			if r := publish(raw, 1, l.hasBytes)[0]; r.AllocObjects != 3 || r.FreeObjects != 1 || r.AllocBytes != 192 || r.FreeBytes != 64 {
				t.Errorf("before the first GC: %+v", r)
			}
		})
	}
}

func TestWalkMalformed(t *testing.T) {
	l := layout126
	for _, tc := range []struct {
		name    string
		buckets []testBucket
		max     int
		wantErr error // nil: want truncation
	}{
		{"loop", []testBucket{{addr: 0x1000, allnext: 0x2000, typ: 1}, {addr: 0x2000, allnext: 0x1000, typ: 1}}, 10, ErrCorrupt},
		{"block bucket", []testBucket{{addr: 0x1000, typ: 2}}, 10, ErrCorrupt},
		{"deep stack", []testBucket{{addr: 0x1000, typ: 1, stk: make([]uint64, 1025)}}, 10, ErrCorrupt},
		{"misaligned", []testBucket{{addr: 0x1000, allnext: 0x2001, typ: 1}}, 10, ErrCorrupt},
		{"unmapped", []testBucket{{addr: 0x1000, allnext: 0x9000, typ: 1}}, 10, errors.New("")},
		{"truncated", []testBucket{{addr: 0x1000, allnext: 0x2000, typ: 1}, {addr: 0x2000, allnext: 0x1000, typ: 1}}, 1, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := fakeMem{}
			for _, b := range tc.buckets {
				b.put(m, l)
			}
			raw, truncated, err := (&walker{mem: m, lay: l, max: tc.max}).walk(0x1000)
			switch {
			case tc.wantErr == nil:
				if err != nil || !truncated || len(raw) != tc.max {
					t.Errorf("got %d buckets, truncated %v, %v; want %d, truncated", len(raw), truncated, err, tc.max)
				}
			case err == nil:
				t.Errorf("no error, %d buckets", len(raw))
			case tc.wantErr == ErrCorrupt && !errors.Is(err, ErrCorrupt):
				t.Errorf("error %v, want ErrCorrupt", err)
			}
		})
	}
}
