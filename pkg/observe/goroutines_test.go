package observe

import (
	"fmt"
	"testing"
	"time"

	"github.com/memsight/memsight/pkg/goexe"
	"github.com/memsight/memsight/pkg/model"
	"github.com/memsight/memsight/pkg/process"
	"github.com/memsight/memsight/pkg/target"
	"github.com/memsight/memsight/pkg/testutil"
)

// TestGoroutines: a sample's goroutine census (without probes) and the
// memory-only GoroutineCensus agree with goleak's runtime.NumGoroutine.
func TestGoroutines(t *testing.T) {
	v := testutil.Variant{Toolchain: testutil.GoInstalled, Mode: testutil.PIE}
	tg := testutil.StartTarget(t, testutil.BuildTarget(t, "goleak", v), "-rate=20000", "-max=500")
	tg.WaitLine(t, "STEADY ", 20*time.Second)
	var ng int
	fmt.Sscan(tg.WaitNextLine(t, "NG ", 10*time.Second), &ng)

	procs, err := process.New(process.Config{})
	if err != nil {
		t.Fatal(err)
	}
	cache := goexe.NewCache(1)
	defer cache.Close()
	res, err := GoroutineCensus(CensusConfig{PID: tg.Pid, Procs: procs, Cache: cache})
	if err != nil {
		t.Fatal(err)
	}
	if res.Census.User != ng || res.Process.Comm == "" || !res.Binary.PIE {
		t.Errorf("census user %d, NumGoroutine %d; process %+v", res.Census.User, ng, res.Process)
	}

	// A Session's sample, without probes.
	s := &Session{cfg: AttachConfig{PID: tg.Pid, Procs: procs}}
	if err := s.open(target.Config{PID: tg.Pid, Procs: procs, Binary: res.Binary}); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	out := &model.Sample{Unknown: map[string]string{}}
	s.goroutines(out, time.Now())
	g := out.Goroutines
	if g == nil {
		t.Fatalf("no goroutines: %v", out.Unknown)
	}
	if g.User != ng || g.Total < g.User || len(g.TopCreationSites) == 0 || len(g.TopCreationSites) > topCreationSites {
		t.Fatalf("goroutines %+v, NumGoroutine %d", g, ng)
	}
	if top := g.TopCreationSites[0]; top.Function != "main.handler" || top.Count != 500 || top.WaitReason != "chan receive" {
		t.Errorf("top creation site %+v", top)
	}
	if len(out.Unknown) != 0 {
		t.Errorf("unknown: %v", out.Unknown)
	}
}
