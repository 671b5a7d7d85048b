package leak

import (
	"cmp"
	"slices"

	"github.com/memsight/memsight/pkg/procmem"
)

// batchScratch holds the buffers of one batch.
type batchScratch struct {
	buf   []byte
	batch []item
	keys  []pieceKey
	data  [][]byte
	ok    []bool
	reads []procmem.Span
}

// pieceKey is a piece's address and index in its batch.
type pieceKey struct {
	addr uint64
	i    int
}

// grow returns s resized to n, reusing its array when large enough.
func grow[T any](s []T, n int) []T {
	if cap(s) < n {
		return make([]T, n, max(n, 2*cap(s)))
	}
	clear(s[:n])
	return s[:n]
}

// readPieces reads the batch's pieces: sorted by address, pieces less than
// coalesceGap apart share one read (objects of a span are usually marked
// together), which the kernel serves far faster than one iovec per object.
// data[i] is batch[i]'s bytes, ok[i] whether they were read.
func (m *marker) readPieces(batch []item) (data [][]byte, ok []bool, err error) {
	sc := &m.scratch
	keys := grow(sc.keys, len(batch))
	sc.keys = keys
	for i, it := range batch {
		keys[i] = pieceKey{it.base + uint64(it.off), i}
	}
	slices.SortFunc(keys, func(a, b pieceKey) int { return cmp.Compare(a.addr, b.addr) })
	// Runs of close pieces: [start, end) and the keys they hold.
	type run struct {
		start, end uint64
		from, to   int // keys[from:to]
	}
	var runs []run
	total := uint64(0)
	for k, kv := range keys {
		a, e := kv.addr, kv.addr+uint64(batch[kv.i].n)
		if r := len(runs) - 1; r >= 0 && a <= runs[r].end+coalesceGap && e-runs[r].start <= maxBatchBytes {
			total += max(e, runs[r].end) - runs[r].end
			runs[r].end = max(runs[r].end, e)
			runs[r].to = k + 1
			continue
		}
		runs = append(runs, run{start: a, end: e, from: k, to: k + 1})
		total += e - a
	}
	buf := grow(sc.buf, int(total))
	sc.buf = buf
	reads := grow(sc.reads, len(runs))
	sc.reads = reads
	for r, run := range runs {
		n := run.end - run.start
		reads[r] = procmem.Span{Addr: run.start, Buf: buf[:n:n]}
		buf = buf[n:]
	}
	rok, err := m.r.readEach(reads)
	if err != nil {
		return nil, nil, err
	}
	data, ok = grow(sc.data, len(batch)), grow(sc.ok, len(batch))
	sc.data, sc.ok = data, ok
	for r, run := range runs {
		if !rok[r] {
			continue // a run straddling an unmapped gap: its pieces are read alone
		}
		for _, kv := range keys[run.from:run.to] {
			off := kv.addr - run.start
			data[kv.i], ok[kv.i] = reads[r].Buf[off:off+uint64(batch[kv.i].n)], true
		}
	}
	addr := func(i int) uint64 { return batch[i].base + uint64(batch[i].off) }
	var retry []procmem.Span
	var retryIdx []int
	for i := range batch {
		if !ok[i] {
			retry = append(retry, procmem.Span{Addr: addr(i), Buf: make([]byte, batch[i].n)})
			retryIdx = append(retryIdx, i)
		}
	}
	if len(retry) > 0 {
		rok, err := m.r.readEach(retry)
		if err != nil {
			return nil, nil, err
		}
		for j, i := range retryIdx {
			data[i], ok[i] = retry[j].Buf, rok[j]
		}
	}
	return data, ok, nil
}
