package leak

import (
	"context"
	"encoding/binary"
	"time"

	"github.com/memsight/memsight/pkg/procmem"
)

// maxBatchBytes bounds one batched read (and so how far the rate limiter
// can overshoot).
const maxBatchBytes = 1 << 20

// reader reads target memory in batches, at most rate bytes per second, and
// counts what it read.
type reader struct {
	ctx   context.Context
	mem   procmem.Reader
	rate  float64 // bytes per second; 0: unlimited
	start time.Time
	bytes uint64
	reads uint64
	// sleep waits (tests replace it); it returns ctx.Err() when cancelled.
	sleep func(context.Context, time.Duration) error
}

func newReader(ctx context.Context, mem procmem.Reader, rate int64) *reader {
	return &reader{ctx: ctx, mem: mem, rate: float64(rate), start: time.Now(), sleep: sleepCtx}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// throttle waits until reading n more bytes keeps the average rate since
// the start at or below the limit.
func (r *reader) throttle(n int) error {
	if err := r.ctx.Err(); err != nil {
		return err
	}
	if r.rate <= 0 {
		return nil
	}
	due := time.Duration(float64(r.bytes+uint64(n)) / r.rate * float64(time.Second))
	if wait := due - time.Since(r.start); wait > time.Millisecond {
		return r.sleep(r.ctx, wait)
	}
	return nil
}

// readV reads every span (one process_vm_readv per 1024 spans for a live
// process). An unreadable span fails the whole call: callers fall back to
// reading one by one when they can do without some of them.
func (r *reader) readV(spans []procmem.Span) error {
	n := 0
	for _, s := range spans {
		n += len(s.Buf)
	}
	if n == 0 {
		return nil
	}
	if err := r.throttle(n); err != nil {
		return err
	}
	r.bytes += uint64(n)
	r.reads++
	return procmem.ReadV(r.mem, spans...)
}

// readEach reads the spans in one call, and when that fails, one by one;
// ok[i] says whether span i was read.
func (r *reader) readEach(spans []procmem.Span) ([]bool, error) {
	ok := make([]bool, len(spans))
	if err := r.readV(spans); err == nil {
		for i := range ok {
			ok[i] = true
		}
		return ok, nil
	} else if r.ctx.Err() != nil {
		return ok, r.ctx.Err()
	}
	for i, s := range spans {
		if err := r.readV([]procmem.Span{s}); err == nil {
			ok[i] = true
		} else if r.ctx.Err() != nil {
			return ok, r.ctx.Err()
		}
	}
	return ok, nil
}

// read reads len(buf) bytes at addr.
func (r *reader) read(buf []byte, addr uint64) error {
	return r.readV([]procmem.Span{{Addr: addr, Buf: buf}})
}

// u64 reads one word.
func (r *reader) u64(addr uint64) (uint64, error) {
	var b [8]byte
	if err := r.read(b[:], addr); err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b[:]), nil
}

func le64(b []byte, off uint64) uint64 { return binary.LittleEndian.Uint64(b[off:]) }
func le32(b []byte, off uint64) uint32 { return binary.LittleEndian.Uint32(b[off:]) }
func le16(b []byte, off uint64) uint16 { return binary.LittleEndian.Uint16(b[off:]) }
