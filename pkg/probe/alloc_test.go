package probe

import (
	"fmt"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"

	"github.com/memsight/memsight/pkg/goexe"
	"github.com/memsight/memsight/pkg/testutil"
)

// allochot builds and inspects testdata/targets/allochot for v.
func allochot(t *testing.T, v testutil.Variant) (string, *goexe.Binary) {
	t.Helper()
	exe := testutil.BuildTarget(t, "allochot", v)
	b, err := goexe.Open(exe)
	if err != nil {
		t.Fatalf("inspecting %s: %v", exe, err)
	}
	t.Cleanup(func() { b.Close() })
	return exe, b
}

// attachAlloc watches pid and attaches the given allocation probes.
func attachAlloc(t *testing.T, p *Probes, b *goexe.Binary, pid int, probes []goexe.AllocProbe) *AllocAttachment {
	t.Helper()
	if err := p.Watch(pid); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Unwatch(pid) })
	ap := b.AllocPoints()
	a, err := p.AttachAlloc(AllocTarget{
		ExePath: fmt.Sprintf("/proc/%d/exe", pid), PID: pid, Arch: b.Arch,
		Probes: probes, SpanBytes: ap.SpanBytes, Funcs: b,
	})
	if err != nil {
		t.Fatalf("attaching allocation probes: %v", err)
	}
	t.Cleanup(func() {
		if err := a.Close(); err != nil {
			t.Errorf("closing allocation probes: %v", err)
		}
	})
	return a
}

// symSite is an AllocSite with its frames' function names.
type symSite struct {
	AllocSite
	funcs []string
}

func symbolize(t *testing.T, b *goexe.Binary, bias uint64, sites []AllocSite) []symSite {
	t.Helper()
	var out []symSite
	for _, s := range sites {
		ss := symSite{AllocSite: s}
		for i, pc := range s.PCs {
			fr := b.Frames(pc-bias, i > 0)
			if len(fr) == 0 {
				ss.funcs = append(ss.funcs, fmt.Sprintf("?%#x", pc-bias))
				continue
			}
			for _, f := range fr {
				ss.funcs = append(ss.funcs, f.Func)
			}
		}
		out = append(out, ss)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Bytes > out[j].Bytes })
	return out
}

// siteHits sums the hits and bytes of the sites whose stack holds fn.
func siteHits(sites []symSite, fn string) (hits, bytes uint64) {
	for _, s := range sites {
		for _, f := range s.funcs {
			if f == fn {
				hits += s.Hits
				bytes += s.Bytes
				break
			}
		}
	}
	return hits, bytes
}

func parseCounts(t *testing.T, line string) map[string]float64 {
	t.Helper()
	m := map[string]float64{}
	for _, f := range strings.Fields(line) {
		k, v, ok := strings.Cut(f, "=")
		var x float64
		if _, err := fmt.Sscan(v, &x); !ok || err != nil {
			t.Fatalf("bad count %q in %q", f, line)
		}
		m[k] = x
	}
	return m
}

// TestAllocSlowPaths probes refill, mheap.alloc and the large allocation
// function of allochot, and checks that the recorded stacks are the
// target's: the site with the most bytes is in main.allocHot, directly
// above the runtime (the caller frame the kernel's frame-pointer walk skips
// at a function's entry is there), large allocations are recorded once
// (mallocgcLarge, not again in mheap.alloc) with their exact size, and
// every 64 KiB slice the target made is seen.
func TestAllocSlowPaths(t *testing.T) {
	multi, perf := newProbes(t), newProbesWith(t, Config{PerfUprobes: true})
	vs := testutil.Matrix(testutil.Default, testutil.Stripped, testutil.PIE)
	for i, v := range append(vs, vs[0]) {
		p, name := multi, v.String()
		if i == len(vs) {
			p, name = perf, v.String()+"/perf_uprobe"
		}
		t.Run(name, func(t *testing.T) {
			exe, b := allochot(t, v)
			tg := testutil.StartTarget(t, exe, "-wait", "-rate", "2000")
			tg.WaitLine(t, "READY ", 10*time.Second)
			a := attachAlloc(t, p, b, tg.Pid, b.AllocPoints().Slow)
			if err := tg.Signal(syscall.SIGUSR1); err != nil {
				t.Fatal(err)
			}
			tg.WaitLine(t, "START", 5*time.Second)
			time.Sleep(1500 * time.Millisecond)
			if err := tg.Signal(syscall.SIGUSR2); err != nil {
				t.Fatal(err)
			}
			gt := parseCounts(t, tg.WaitLine(t, "STOPPED ", 10*time.Second))
			raw, err := a.Sites()
			if err != nil {
				t.Fatal(err)
			}
			sites := symbolize(t, b, loadBias(t, tg.Pid, exe), raw)
			if len(sites) == 0 {
				t.Fatal("no allocation sites")
			}
			for i, s := range sites[:min(len(sites), 5)] {
				t.Logf("site %d: hits %d bytes %d: %s", i, s.Hits, s.Bytes, strings.Join(s.funcs, " < "))
			}
			hits, err := a.Hits()
			if err != nil {
				t.Fatal(err)
			}
			cnt, _ := p.AllocCounters()
			t.Logf("target: %v; probe hits %v; counters %+v", gt, hits, cnt)

			top := sites[0]
			userAt := -1
			for i, f := range top.funcs {
				if !strings.HasPrefix(f, "runtime.") {
					userAt = i
					break
				}
			}
			if userAt < 0 || top.funcs[userAt] != "main.allocHot" {
				t.Fatalf("top site %v: first non-runtime frame is not main.allocHot", top.funcs)
			}
			// allocHot calls makeslice, which calls mallocgc: no frame lost.
			if top.funcs[userAt-1] != "runtime.makeslice" {
				t.Errorf("top site %v: main.allocHot's callee is not runtime.makeslice", top.funcs)
			}
			for _, s := range sites {
				for i := 1; i < len(s.funcs); i++ {
					if s.funcs[i] == "main.allocHot" && s.funcs[i-1] == "main.allocHot" {
						t.Errorf("stack %v repeats main.allocHot (caller frame added twice)", s.funcs)
					}
				}
			}
			// Every 64 KiB slice is one mallocgcLarge hit (recorded) and one
			// mheap.alloc hit (nested, not recorded again).
			var large, largeBytes uint64
			for _, s := range sites {
				if s.funcs[0] == "runtime.mallocgcLarge" && strings.Contains(strings.Join(s.funcs, " "), "main.allocHot") {
					large += s.Hits
					largeBytes += s.Bytes
				}
			}
			want := uint64(gt["hot64k"])
			if large < want || large > want+want/50+2 {
				t.Errorf("mallocgcLarge hits in main.allocHot: %d, target made %d 64 KiB slices", large, want)
			}
			if largeBytes != large*64<<10 {
				t.Errorf("large bytes %d for %d hits, want 64 KiB each", largeBytes, large)
			}
			if cnt.StackErrors != 0 || cnt.SitesFull != 0 {
				t.Errorf("counters %+v", cnt)
			}
			if hits["runtime.(*mcache).refill"] == 0 || hits["runtime.(*mheap).alloc"] < large {
				t.Errorf("probe hits %v", hits)
			}
			if err := tg.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			if exited, err := tg.Wait(10 * time.Second); !exited || err != nil {
				t.Fatalf("target did not exit cleanly: exited %v, %v", exited, err)
			}
		})
	}
}

// TestAllocMallocFamily probes every mallocgc variant of Go 1.27, where
// new(T) of 48 bytes is a direct call of mallocgcSmallNoScanSC5: the hits
// recorded in main.allocSmall equal the allocations the target counted
// (within 10 %), and so do those of main.allocHot.
func TestAllocMallocFamily(t *testing.T) {
	p := newProbes(t)
	for _, v := range testutil.Matrix(testutil.Default, testutil.PIE) {
		t.Run(v.String(), func(t *testing.T) {
			exe, b := allochot(t, v)
			tg := testutil.StartTarget(t, exe, "-wait", "-rate", "1000", "-small", "20")
			tg.WaitLine(t, "READY ", 10*time.Second)
			ap := b.AllocPoints()
			a := attachAlloc(t, p, b, tg.Pid, append(ap.Slow, ap.Malloc...))
			if err := tg.Signal(syscall.SIGUSR1); err != nil {
				t.Fatal(err)
			}
			tg.WaitLine(t, "START", 5*time.Second)
			time.Sleep(1500 * time.Millisecond)
			if err := tg.Signal(syscall.SIGUSR2); err != nil {
				t.Fatal(err)
			}
			gt := parseCounts(t, tg.WaitLine(t, "STOPPED ", 10*time.Second))
			raw, err := a.Sites()
			if err != nil {
				t.Fatal(err)
			}
			sites := symbolize(t, b, loadBias(t, tg.Pid, exe), raw)
			hits, _ := a.Hits()
			cnt, _ := p.AllocCounters()
			t.Logf("target: %v; counters %+v", gt, cnt)
			for _, n := range sortedKeys(hits) {
				if hits[n] > 0 {
					t.Logf("  %-45s %8d hits", n, hits[n])
				}
			}
			check := func(fn string, want float64) {
				t.Helper()
				got, bytes := siteHits(sites, fn)
				t.Logf("%s: %d recorded (%d bytes), target made %.0f", fn, got, bytes, want)
				if want < 1000 || float64(got) < want*0.9 || float64(got) > want*1.1 {
					t.Errorf("%s: %d hits recorded, target made %.0f allocations", fn, got, want)
				}
			}
			check("main.allocSmall", gt["small"])
			check("main.allocHot", gt["hot4k"]+gt["hot64k"])
			if v.Toolchain == testutil.GoNext && hits["runtime.mallocgcSmallNoScanSC5"] == 0 {
				t.Errorf("go1.27: mallocgcSmallNoScanSC5 never hit")
			}
		})
	}
}

func sortedKeys(m map[string]uint64) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestAllocObjects checks the allocation records' layouts against the BTF
// of both objects.
func TestAllocObjects(t *testing.T) {
	for _, obj := range []string{"memsight_x86_bpfel.o", "memsight_arm64_bpfel.o"} {
		spec, err := ebpf.LoadCollectionSpec(obj)
		if err != nil {
			t.Fatal(err)
		}
		for typ, goSize := range map[string]uintptr{
			"alloc_site": unsafe.Sizeof(memsightAllocSite{}), "alloc_stat": unsafe.Sizeof(memsightAllocStat{}),
			"alloc_call": unsafe.Sizeof(memsightAllocCall{}),
		} {
			var s *btf.Struct
			if err := spec.Types.TypeByName(typ, &s); err != nil {
				t.Fatalf("%s: struct %s: %v", obj, typ, err)
			}
			if n, _ := btf.Sizeof(s); uintptr(n) != goSize {
				t.Errorf("%s: struct %s is %d bytes, %d in Go", obj, typ, n, goSize)
			}
		}
		// The map sizes: TestContract.
	}
	if n := len(memsightAllocSite{}.Pcs); n != allocMaxFrames {
		t.Errorf("alloc_site holds %d frames, Go assumes %d", n, allocMaxFrames)
	}
}
