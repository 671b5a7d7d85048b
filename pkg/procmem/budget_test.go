package procmem

import (
	"errors"
	"os"
	"testing"
	"unsafe"
)

// TestBudget: reads pass until the budget is spent, then fail with
// ErrBudget without reading; vector reads through a Budget on a *Process
// stay vector reads.
func TestBudget(t *testing.T) {
	p, err := Open(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	addr := uint64(uintptr(unsafe.Pointer(&childBuf[0])))
	b := NewBudget(p, 100)
	buf := make([]byte, 60)
	if err := ReadFull(b, buf, addr); err != nil {
		t.Fatalf("first read: %v", err)
	}
	if buf[1] != childBuf[1] {
		t.Fatalf("read %d, want %d", buf[1], childBuf[1])
	}
	if err := ReadFull(b, buf, addr); !errors.Is(err, ErrBudget) {
		t.Fatalf("second read of 60 bytes after 60 of 100: %v, want ErrBudget", err)
	}
	two := []Span{{Addr: addr, Buf: make([]byte, 20)}, {Addr: addr + 100, Buf: make([]byte, 20)}}
	if err := ReadV(b, two...); err != nil {
		t.Fatalf("vector read of 40 bytes: %v", err)
	}
	if two[1].Buf[0] != childBuf[100] {
		t.Fatalf("vector read %d, want %d", two[1].Buf[0], childBuf[100])
	}
	if b.Used() != 100 {
		t.Fatalf("used %d, want 100", b.Used())
	}
	if err := ReadV(b, two[:1]...); !errors.Is(err, ErrBudget) {
		t.Fatalf("read past the budget: %v, want ErrBudget", err)
	}
}
