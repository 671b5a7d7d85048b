package probe

import (
	"bufio"
	"debug/elf"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/memsight/memsight/pkg/goexe"
	"github.com/memsight/memsight/pkg/testutil"
)

// finslowTarget builds testdata/targets/finslow for v, inspects it with goexe
// and returns the executable and its Binary.
func finslowTarget(t *testing.T, v testutil.Variant) (string, *goexe.Binary) {
	t.Helper()
	exe := testutil.BuildTarget(t, "finslow", v)
	b, err := goexe.Open(exe)
	if err != nil {
		t.Fatalf("inspecting %s: %v", exe, err)
	}
	t.Cleanup(func() { b.Close() })
	if !b.Attachable {
		t.Fatalf("%s not attachable: %s", exe, b.Reason)
	}
	return exe, b
}

// targetFor is the Attach input for process pid running b.
func targetFor(t *testing.T, b *goexe.Binary, exe string, pid int) Target {
	t.Helper()
	goid, ok := b.Layout.Off("runtime.g.goid")
	if !ok {
		f, err := elf.Open(exe)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if goid, ok = dwarfGoidOffset(f); !ok {
			goid = -1
		}
	}
	schedPC, ok := b.Layout.Off("runtime.g.sched.pc")
	if !ok {
		schedPC = -1
	}
	return Target{
		Trace:         Trace{Finalizers: true, GC: true}, // everything these tests check
		Funcs:         b,
		ExePath:       fmt.Sprintf("/proc/%d/exe", pid),
		PID:           pid,
		Points:        b.Probes,
		GoMinor:       b.Version.Minor,
		Arch:          b.Arch,
		GoidOffset:    goid,
		SchedPCOffset: schedPC,
	}
}

// counts parses a finslow "queued=Q executed=E ..." line.
func counts(t *testing.T, line string) map[string]uint64 {
	t.Helper()
	m := make(map[string]uint64)
	for _, f := range strings.Fields(line) {
		k, v, ok := strings.Cut(f, "=")
		n, err := strconv.ParseInt(v, 10, 64)
		if !ok || err != nil || n < 0 {
			t.Fatalf("bad count %q in %q", f, line)
		}
		m[k] = uint64(n)
	}
	return m
}

// loadBias returns the PIE load bias of pid's executable (0 for ET_EXEC).
func loadBias(t *testing.T, pid int, exe string) uint64 {
	t.Helper()
	f, err := elf.Open(exe)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Type != elf.ET_DYN {
		return 0
	}
	fi, err := os.Stat(exe)
	if err != nil {
		t.Fatal(err)
	}
	ino := fi.Sys().(*syscall.Stat_t).Ino
	maps, err := os.Open(fmt.Sprintf("/proc/%d/maps", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer maps.Close()
	sc := bufio.NewScanner(maps)
	for sc.Scan() {
		// start-end perms offset dev inode path
		fs := strings.Fields(sc.Text())
		if len(fs) < 6 || fs[4] != strconv.FormatUint(ino, 10) {
			continue
		}
		start, _ := strconv.ParseUint(strings.Split(fs[0], "-")[0], 16, 64)
		off, _ := strconv.ParseUint(fs[2], 16, 64)
		for _, p := range f.Progs {
			if p.Type == elf.PT_LOAD && p.Off <= off && off < p.Off+p.Filesz {
				return start - (p.Vaddr + off - p.Off)
			}
		}
	}
	t.Fatalf("no mapping of %s (inode %d) in /proc/%d/maps", exe, ino, pid)
	return 0
}

// TestTargets runs finslow across toolchains and build modes with a PID-filtered
// attachment, and compares the BPF counters with the runtime's own numbers.
func TestTargets(t *testing.T) {
	p := newProbes(t)
	col := collect(t, p)
	for _, v := range testutil.Matrix(testutil.Default, testutil.Stripped, testutil.PIE) {
		t.Run(v.String(), func(t *testing.T) {
			t.Parallel()
			exe, b := finslowTarget(t, v)
			tg := testutil.StartTarget(t, exe, "-n", "60", "-c", "40", "-rounds", "3", "-deep", "10")
			tg.WaitLine(t, "READY ", 10*time.Second)
			start := time.Now()
			a, err := p.Attach(targetFor(t, b, exe, tg.Pid))
			if err != nil {
				t.Fatalf("attach: %v", err)
			}
			t.Logf("Attach %d probes: %v; skipped %v", len(a.Points()), time.Since(start), a.Skipped())
			if err := tg.Signal(syscall.SIGUSR1); err != nil {
				t.Fatal(err)
			}
			gt0 := counts(t, tg.WaitLine(t, "GT0 ", 10*time.Second))
			gt1 := counts(t, tg.WaitLine(t, "DONE ", 30*time.Second))
			c, ok := p.Counters(tg.Pid)
			if !ok {
				t.Fatal("no counters for the target")
			}
			d := func(k string) uint64 { return gt1[k] - gt0[k] }
			check := func(name string, bpf, want uint64) {
				t.Helper()
				t.Logf("%-22s BPF %5d  runtime %5d", name, bpf, want)
				if bpf != want {
					t.Errorf("%s: BPF %d, runtime %d", name, bpf, want)
				}
			}
			check("finalizers registered", c.FinalizersRegistered, d("registered"))
			check("finalizers queued", c.FinalizersQueued, d("queued"))
			check("finalizers started", c.FinalizersStarted, d("executed"))
			check("finalizers finished", c.FinalizersFinished, d("executed"))
			check("cleanups queued", c.CleanupsQueued, d("cqueued"))
			check("cleanups started", c.CleanupsStarted, d("cexecuted"))
			check("cleanups finished", c.CleanupsFinished, d("cexecuted"))
			check("GC cycles", c.GCCycles, d("numgc"))
			check("GC ends", c.GCEnds, d("numgc"))
			check("read errors", c.ReadErrors, 0)
			t.Logf("entry repeats %d; STW %d pauses, total %v, max %v", c.EntryRepeats, c.STWPauses, c.STWTotal, c.STWMax)

			// Every start event's PC is the finalizer or cleanup function.
			bias := loadBias(t, tg.Pid, exe)
			want := map[EventKind][]string{
				FinalizerStart: {"main.slowFinalizer", "main.quickFinalizer"},
				CleanupStart:   {"main.cleanupFn"},
			}
			total := map[EventKind]uint64{FinalizerStart: c.FinalizersStarted, CleanupStart: c.CleanupsStarted}
			for kind, names := range want {
				evs := col.wait(t, tg.Pid, kind, int(total[kind]), 5*time.Second)
				hist := map[string]int{}
				for _, e := range evs {
					fn, ok := b.FuncAt(e.PC - bias)
					if !ok || e.PC == 0 {
						t.Errorf("%s event PC %#x (bias %#x) does not symbolize", kind, e.PC, bias)
						continue
					}
					hist[fn.Name]++
					if fn.Entry != e.PC-bias {
						t.Errorf("%s event PC %#x is not the entry of %s", kind, e.PC-bias, fn.Name)
					}
					if tgtGoid := targetFor(t, b, exe, tg.Pid).GoidOffset; tgtGoid >= 0 && e.Goid == 0 {
						t.Errorf("%s event without goid (offset %d)", kind, tgtGoid)
					}
				}
				n := 0
				for _, name := range names {
					n += hist[name]
				}
				if n != len(evs) {
					t.Errorf("%s functions: %v, want only %v", kind, hist, names)
				}
			}

			// Half of the runs detach first, half exit while attached.
			if v.Mode == testutil.Stripped {
				if err := a.Close(); err != nil {
					t.Fatal(err)
				}
				if _, ok := p.Counters(tg.Pid); ok {
					t.Error("counters still present after detaching")
				}
			}
			if err := tg.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			if exited, err := tg.Wait(10 * time.Second); !exited || err != nil {
				t.Fatalf("target did not exit cleanly: exited %v, %v", exited, err)
			}
			tg.WaitLine(t, "BYE", time.Second)
			if v.Mode != testutil.Stripped {
				exit := col.wait(t, tg.Pid, ProcessExit, 1, 5*time.Second)[0]
				if exit.Final == nil || exit.Final.FinalizersFinished != c.FinalizersFinished {
					t.Errorf("exit event's final counters %+v, want finished %d", exit.Final, c.FinalizersFinished)
				}
				if _, ok := p.Counters(tg.Pid); ok {
					t.Error("counters still present after the process exited")
				}
				if err := a.Close(); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}
