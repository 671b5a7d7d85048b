package procmem

import (
	"errors"
	"fmt"
	"sync/atomic"
)

// ErrBudget means a Budget reader has read all the bytes it may.
var ErrBudget = errors.New("memory read budget exhausted")

// vectorReader reads several spans at once (*Process, *Budget).
type vectorReader interface {
	ReadV(spans ...Span) (int, error)
}

// Budget is a Reader that passes reads on to another one until a number
// of bytes have been asked for, then fails them with ErrBudget: it bounds
// what one costly read (a heap profile, a goroutine profile) may read
// from a target. It is safe for concurrent use when the reader it wraps is.
type Budget struct {
	r    Reader
	max  int64
	used atomic.Int64
}

// NewBudget returns a reader of r that reads at most max bytes in total.
func NewBudget(r Reader, max int64) *Budget { return &Budget{r: r, max: max} }

// take books n bytes; false when that goes over the budget (nothing is
// booked then).
func (b *Budget) take(n int) bool {
	if b.used.Add(int64(n)) > b.max {
		b.used.Add(-int64(n))
		return false
	}
	return true
}

func (b *Budget) over(n int, addr uint64) error {
	return fmt.Errorf("reading %d bytes at %#x after %d of %d bytes: %w", n, addr, b.used.Load(), b.max, ErrBudget)
}

// ReadMemory reads through the wrapped reader while the budget lasts.
func (b *Budget) ReadMemory(buf []byte, addr uint64) (int, error) {
	if !b.take(len(buf)) {
		return 0, b.over(len(buf), addr)
	}
	return b.r.ReadMemory(buf, addr)
}

// ReadV reads several spans, in one call when the wrapped reader can.
func (b *Budget) ReadV(spans ...Span) (int, error) {
	want := 0
	for _, s := range spans {
		want += len(s.Buf)
	}
	if len(spans) == 0 {
		return 0, nil
	}
	if !b.take(want) {
		return 0, b.over(want, spans[0].Addr)
	}
	if v, ok := b.r.(vectorReader); ok {
		return v.ReadV(spans...)
	}
	n := 0
	for _, s := range spans {
		k, err := b.r.ReadMemory(s.Buf, s.Addr)
		n += k
		if err != nil {
			return n, err
		}
		if k != len(s.Buf) {
			return n, fmt.Errorf("reading %d bytes at %#x: got %d: %w", len(s.Buf), s.Addr, k, ErrFault)
		}
	}
	return n, nil
}

// Used returns the bytes read (asked for) so far.
func (b *Budget) Used() int64 { return b.used.Load() }
