package term

import (
	"flag"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/memsight/memsight/pkg/model"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current renderers")

// golden compares got with testdata/name (go test -update rewrites it).
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -update writes it)", err)
	}
	if got != string(want) {
		t.Errorf("%s changed (go test -update if the change is meant)\ngot:\n%s\nwant:\n%s", name, got, want)
	}
}

var at = time.Date(2026, 11, 26, 16, 10, 31, 0, time.UTC)

// attachSamples are two consecutive samples of a process with a blocked
// finalizer, a running cleanup, allocation probes and findings.
func attachSamples() (first, second *model.Sample) {
	stack := make([]string, 14)
	for i := range stack {
		stack[i] = "main.frame" + string(rune('a'+i)) + " /src/app/main.go:" + string(rune('1'+i%9))
	}
	first = &model.Sample{
		Time: at, PID: 4242, Comm: "leakyservice", GoVersion: "go1.26.8", RSSBytes: 96 << 20,
		RSS: model.RSS{AnonBytes: 80 << 20, FileBytes: 16 << 20, Threads: 9},
		Finalizers: model.Finalizers{
			RegisteredTotal: ptr[uint64](120), QueuedTotal: ptr[uint64](100), ExecutedTotal: ptr[uint64](40), QueueLength: ptr[int64](60),
			Running: &model.Running{Function: "main.(*Conn).Close", Seconds: 3.2, AgeSource: "attach", AtLeast: true, State: "blocked",
				WaitReason: "IO wait", Stack: stack},
			Goroutine: &model.GoroutineState{Goid: 5, Status: "waiting", WaitReason: "IO wait", WaitSeconds: ptr(12.5)},
		},
		Cleanups: model.Cleanups{QueuedTotal: ptr[uint64](7), ExecutedTotal: ptr[uint64](7), QueueLength: ptr[int64](0),
			Running: &model.Running{Function: "main.release", Seconds: 0.4, AgeSource: "sample", State: "running", TID: 4250,
				Stack: []string{"main.release /src/app/pool.go:40"}}},
		GC: &model.GC{CyclesTotal: 31, STWPauseSecondsTotal: 0.0042, STWPauseP99Seconds: 0.00031, LastPauseSeconds: 0.00012,
			CyclesSinceAttach: 3, GCPercent: 100},
		Heap: &model.Heap{InuseBytes: 40 << 20, LiveBytes: 30 << 20, GoalBytes: 60 << 20, MemoryLimitBytes: math.MaxInt64,
			SlopeBytesPerHour: ptr(12.0 * (1 << 20))},
		Goroutines: &model.Goroutines{Total: 2012, User: 2008, SlopePerHour: ptr(340.0),
			TopCreationSites: []model.SiteCount{{Function: "main.serve", File: "/src/app/server.go", Line: 88, Count: 1990, WaitReason: "chan receive"}}},
		FDs: model.FDs{Open: 31, SlopePerHour: ptr(-2.0)},
		Alloc: &model.Alloc{Enabled: []string{"mallocgc", "refill"}, Detached: map[string]string{"mallocgc": "over budget"},
			OverheadRatio: 0.0087, Hits: 52311},
		Findings: []model.Finding{{Kind: model.KindFinalizerStall, Severity: model.SeverityCritical, Since: at.Add(-90 * time.Second),
			Summary: "finalizer main.(*Conn).Close has been blocked for 3.2 s"}},
		Unknown: map[string]string{"heap.goal_bytes": "no layout", "finalizers.registered_total": "no probe"},
	}
	for i := range 7 {
		first.Alloc.TopSites = append(first.Alloc.TopSites, model.AllocSite{Stack: []string{"main.alloc" + string(rune('a'+i))},
			Hits: uint64(900 - 100*i), Bytes: uint64(7-i) << 20})
	}
	first.Alloc.TopSites[6].Stack = nil

	s := *first
	second = &s
	second.Time = at.Add(2 * time.Second)
	second.RSSBytes = 98 << 20
	second.RSS.SlopeBytesPerHour, second.RSS.R2 = ptr(30.0*(1<<20)), ptr(0.93)
	second.Finalizers.QueuedTotal, second.Finalizers.ExecutedTotal, second.Finalizers.QueueLength = ptr[uint64](160), ptr[uint64](42), ptr[int64](118)
	second.Alloc = &model.Alloc{Enabled: []string{"refill"}, Detached: map[string]string{"mallocgc": "over budget", "refill": "over budget"}}
	return first, second
}

func TestGoldenAttach(t *testing.T) {
	first, second := attachSamples()
	var b strings.Builder
	RenderSample(&b, first, nil)
	golden(t, "attach_first.golden", b.String())

	b.Reset()
	RenderSample(&b, second, first)
	golden(t, "attach_next.golden", b.String())

	b.Reset()
	RenderDetached(&b, second, first)
	golden(t, "attach_detached.golden", b.String())

	b.Reset()
	bare := &model.Sample{Time: at, PID: 7, Comm: "tiny", GoVersion: "go1.20.14", RSSBytes: 900, FDs: model.FDs{Open: -1},
		Heap: &model.Heap{MemoryLimitBytes: 512 << 20}, GC: &model.GC{GCPercent: -1},
		Unknown: map[string]string{"heap.goal_bytes": "no layout"}}
	RenderSample(&b, bare, nil)
	golden(t, "attach_bare.golden", b.String())
}

func TestGoldenCensus(t *testing.T) {
	c := &model.Census{
		GoVersion: "go1.27.3", AllGs: 2100, Read: 2100, Total: 2012, User: 2008, System: 4, NumGoroutine: 2007, Dead: 88, Counted: 2008,
		ByStatus:     map[string]int{"waiting": 2000, "runnable": 5, "running": 3},
		ByWaitReason: map[string]int{"chan receive": 1990, "select": 6, "IO wait": 2, "sleep": 2},
		BySite: []model.CensusSite{
			{Site: model.Site{Function: "main.serve", File: "/src/app/server.go", Line: 88}, Count: 1990, Status: "waiting", WaitReason: "chan receive"},
			{Site: model.Site{Function: "(main goroutine)"}, Count: 1, Status: "running"},
		},
		Sites: 5,
		OldestWaiters: []model.Waiter{{Goid: 31, WaitReason: "chan receive", WaitSeconds: 754.25,
			CreatedBy: model.Site{Function: "main.serve", File: "/src/app/server.go", Line: 88}}},
		WaitSinceUnknown: 3,
		Stacks: []model.StackGroup{
			{Count: 1990, WaitReason: "chan receive", Frames: []model.CensusFrame{
				{Function: "runtime.gopark", File: "/go/src/runtime/proc.go", Line: 462, PC: 0x43e0d6, Offset: 0xd6},
				{Function: "runtime.chanrecv", File: "/go/src/runtime/chan.go", Line: 664, PC: 0x40a4b1, Offset: 0x371},
				{Function: "main.handle", File: "/src/app/server.go", Line: 120, PC: 0x4d2f10, Offset: 0x50, Inlined: true},
				{Function: "main.serve.func1", File: "/src/app/server.go", Line: 88, PC: 0x4d2f10, Offset: 0x50},
				{Function: "runtime.goexit", File: "/go/src/runtime/asm_amd64.s", Line: 1771, PC: 0x4731c1, Offset: 0x1},
			}},
			{Count: 2, Err: "running", Frames: []model.CensusFrame{{Function: "runtime.systemstack", File: "/go/src/runtime/asm_amd64.s", Line: 514, PC: 0x471000}}},
		},
		StacksSkipped: 16,
		Unknown:       map[string]string{"wait_since": "Go 1.20 has no waitsince"},
	}
	tg := Target{PID: 4242, Comm: "leakyservice", GoVersion: c.GoVersion, Time: at}
	var b strings.Builder
	RenderCensus(&b, tg, c, 3)
	golden(t, "census.golden", b.String())

	b.Reset()
	tg.GoVersion = "go1.26.8"
	RenderCensus(&b, tg, &model.Census{GoVersion: tg.GoVersion, Total: 3, User: 2, System: 1, NumGoroutine: 2, IncludeSystem: true,
		ByStatus: map[string]int{"running": 1, "waiting": 2}, ByWaitReason: map[string]int{"select": 2}}, 10)
	golden(t, "census_bare.golden", b.String())
}

func TestGoldenLeaks(t *testing.T) {
	r := &model.LeakReport{
		Goroutines: 9300, Blocked: 9260,
		Mark: model.LeakMark{Marks: 2, BytesRead: 48 << 20, Reads: 5120, ObjectsMarked: 310000, BytesMarked: 27 << 20, Seconds: 1.234,
			Conservative: []string{"3 stacks of running goroutines (registers not in memory)"}, Unconfirmed: 2},
		Leaks: []model.Leak{
			{CreationSite: "main.leak (/src/goleak/main.go:31)", Function: "main.leak.func1", WaitReason: "chan send", Count: 9225,
				OldestWaitSeconds: ptr(64.4), Stack: []string{"runtime.gopark /go/src/runtime/proc.go:462", "runtime.chansend /go/src/runtime/chan.go:283",
					"main.leak.func1 /src/goleak/main.go:32"}, BytesPinnedEstimate: 19 << 20, Goids: []uint64{40, 41}},
			{CreationSite: "main.worker (/src/goleak/main.go:50)", Function: "main.worker", WaitReason: "sync.Mutex.Lock", Count: 1,
				Stack: []string{"sync.(*Mutex).Lock /go/src/sync/mutex.go:81"}, BytesPinnedEstimate: 8192, Goids: []uint64{77}},
		},
	}
	tg := Target{PID: 515, Comm: "goleak", GoVersion: "go1.27.3", Time: at}
	var b strings.Builder
	RenderLeaks(&b, tg, r, 2)
	golden(t, "leaks.golden", b.String())

	b.Reset()
	RenderLeaks(&b, tg, &model.LeakReport{Goroutines: 40, Blocked: 12, Mark: model.LeakMark{Marks: 1, Unconfirmed: 1}}, 2)
	golden(t, "leaks_none.golden", b.String())
}

func TestGoldenProcesses(t *testing.T) {
	var b strings.Builder
	err := RenderProcesses(&b, []model.GoProcess{
		{PID: 1, Comm: "init-go", GoVersion: "go1.26.8", PIE: true, CGO: true, Stripped: true, RSSBytes: 12 << 20, Attachable: true,
			ContainerID: "0123456789abcdef0123"},
		{PID: 77, Comm: "old", GoVersion: "go1.19.1", RSSBytes: 3 << 10, Reason: "Go 1.19 is older than 1.20"},
		{PID: 78, Comm: "odd", RSSBytes: 512, Reason: "malformed"},
	})
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "ps.golden", b.String())
}
