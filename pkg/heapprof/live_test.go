package heapprof

import (
	"testing"
	"time"

	"github.com/memsight/memsight/pkg/goexe"
	"github.com/memsight/memsight/pkg/procmem"
	"github.com/memsight/memsight/pkg/testutil"
)

// TestReadWhileRunning reads the profile of a heapleak that keeps
// allocating and collecting (new buckets, flushes, cycles) many times: every
// read succeeds, the list only grows, and the leak's in-use bytes stay.
func TestReadWhileRunning(t *testing.T) {
	v := testutil.Variant{Toolchain: testutil.GoNext, Mode: testutil.Default}
	exe := testutil.BuildTarget(t, "heapleak", v)
	tg := testutil.StartTarget(t, exe, "-memprofilerate", "512", "-warmup", "0s")
	tg.WaitLine(t, "READY", 20*time.Second)
	b, err := goexe.Open(exe)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	mem, err := procmem.Open(tg.Pid)
	if err != nil {
		t.Fatal(err)
	}
	defer mem.Close()
	prev, cycles := 0, map[uint32]bool{}
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); {
		s, err := Read(b, mem, 0, Options{})
		if err != nil {
			t.Fatalf("Read: %v", err)
		}
		if len(s.Records) < prev {
			t.Errorf("%d buckets after %d", len(s.Records), prev)
		}
		prev = len(s.Records)
		cycles[s.Cycle] = true
		var leak int64
		for _, r := range s.Records {
			if leafFunc(b, r.Stack) == "main.leakyCache" && r.ObjectSize == 1024 {
				leak += r.InUseBytes()
			}
		}
		if leak < 8<<20 {
			t.Errorf("cycle %d: main.leakyCache holds %d sampled bytes of 1 KiB objects, leaked 16 MiB", s.Cycle, leak)
		}
	}
	t.Logf("%d buckets, %d cycles seen", prev, len(cycles))
}

// leafFunc returns the innermost function of a stack outside the runtime.
func leafFunc(b *goexe.Binary, stk []uint64) string {
	for _, pc := range stk {
		if fr := b.Frames(pc, true); len(fr) > 0 && !hasPrefix(fr[0].Func, hidePrefixes(b.Version)) {
			return fr[0].Func
		}
	}
	return ""
}
