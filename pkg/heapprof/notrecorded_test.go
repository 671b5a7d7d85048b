package heapprof

import (
	"errors"
	"testing"
	"time"

	"github.com/memsight/memsight/pkg/goexe"
	"github.com/memsight/memsight/pkg/procmem"
	"github.com/memsight/memsight/pkg/testutil"
)

// TestNotRecorded: MemProfileRate 0 is ErrNotRecorded, explained by the
// linker (no runtime/pprof: the idle target) or by the program (heapleak
// setting it to 0).
func TestNotRecorded(t *testing.T) {
	for _, tc := range []struct {
		target string
		args   []string
		reason string
	}{
		{"idle", nil, "MemProfileRate=0: runtime/pprof is not linked in"},
		{"heapleak", []string{"-memprofilerate", "0", "-warmup", "0s"}, "MemProfileRate=0: set by the program"},
	} {
		for _, v := range testutil.Matrix(testutil.Stripped) {
			t.Run(tc.target+"/"+v.String(), func(t *testing.T) {
				t.Parallel()
				exe := testutil.BuildTarget(t, tc.target, v)
				tg := testutil.StartTarget(t, exe, tc.args...)
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
				_, err = Read(b, mem, 0, Options{})
				var nr *NotRecordedError
				if !errors.Is(err, ErrNotRecorded) || !errors.As(err, &nr) {
					t.Fatalf("Read: %v, want ErrNotRecorded", err)
				}
				if nr.Reason != tc.reason {
					t.Errorf("reason %q, want %q", nr.Reason, tc.reason)
				}
			})
		}
	}
}
