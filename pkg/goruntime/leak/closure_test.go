package leak

import (
	"context"
	"syscall"
	"testing"
	"time"

	"github.com/memsight/memsight/pkg/procmem"
	"github.com/memsight/memsight/pkg/testutil"
)

// TestMarkIsClosed checks the mark itself, independently of the runtime's
// verdict: on a target stopped for the test (memsight never stops one),
// every pointer word of every marked object points to a marked object or
// outside the heap, except the sudog words the verdict hides. A corpus case
// with live goroutines churning the heap (Etcd7902) exercises every kind of
// small object.
func TestMarkIsClosed(t *testing.T) {
	for _, tc := range []string{testutil.GoNext, testutil.GoInstalled} {
		t.Run(tc, func(t *testing.T) {
			root := goroot(t, tc)
			exe := buildCorpus(t, tc, root, "goker")
			p := startProc(t, exe, []string{"GODEBUG=asyncpreemptoff=1"}, "Etcd7902")
			if _, _, err := p.waitLine("LEAKREADY", 0, 30*time.Second); err != nil {
				t.Fatal(err)
			}
			m := openMarker(t, p.pid, exe, Config{})
			if err := p.cmd.Process.Signal(syscall.SIGSTOP); err != nil {
				t.Fatal(err)
			}
			defer p.cmd.Process.Signal(syscall.SIGCONT)
			waitStopped(t, p.pid)
			res, err := m.mark(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			checked, broken := checkClosed(t, res)
			t.Logf("%d marked objects, %d pointer words checked, %d leaked goroutines", res.m.st.objects, checked, len(res.leaked))
			if broken > 0 {
				t.Errorf("%d pointer words of marked objects lead to unmarked objects", broken)
			}
			if checked < 1000 {
				t.Errorf("only %d pointer words checked", checked)
			}
		})
	}
}

// waitStopped waits until every thread of pid is stopped.
func waitStopped(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if procState(pid) == 'T' {
			time.Sleep(20 * time.Millisecond)
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("pid %d did not stop", pid)
}

// checkClosed re-reads every marked object of the spans with heap bits and
// checks its pointer words.
func checkClosed(t *testing.T, res *markResult) (checked, broken int) {
	m := res.m
	for _, s := range m.h.spans {
		if !s.inUse || s.noscan() || !m.usesHeapBits(s) {
			continue
		}
		hb, hs := m.heapBitsRange(s)
		hbits := make([]byte, hs)
		if err := procmem.ReadFull(res.r.mem, hbits, hb); err != nil {
			t.Fatal(err)
		}
		for i := uint32(0); i < s.nelems; i++ {
			if !s.marked(i) {
				continue
			}
			base := s.base + uint64(i)*s.elemsize
			buf := make([]byte, s.elemsize)
			if err := procmem.ReadFull(res.r.mem, buf, base); err != nil {
				t.Fatal(err)
			}
			first := (base - s.base) / ptrSize
			for w := uint64(0); w < s.elemsize/ptrSize; w++ {
				bit := first + w
				if hbits[bit/8]&(1<<(bit%8)) == 0 || m.hidden[base] != 0 && m.isHiddenWord(w*ptrSize, m.hidden[base]) {
					continue
				}
				v := le64(buf, w*ptrSize)
				if err := m.h.resolve([]uint64{v}); err != nil {
					t.Fatal(err)
				}
				checked++
				s2 := m.h.spanOf(v)
				if s2 == nil {
					continue
				}
				if i2, ok := s2.index(v); ok && s2.allocated(i2) && !s2.marked(i2) {
					broken++
					if broken <= 5 {
						t.Logf("%#x (elemsize %d) word %d -> %#x (elemsize %d) unmarked", base, s.elemsize, w, v, s2.elemsize)
					}
				}
			}
		}
	}
	return checked, broken
}
