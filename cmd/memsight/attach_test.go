package main

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/memsight/memsight/pkg/model"
	"github.com/memsight/memsight/pkg/testutil"
)

var attachModes = []testutil.Mode{testutil.Default, testutil.Stripped, testutil.PIE}

// TestAttachCountsMatchRuntime: the totals memsight reports since attach equal
// the runtime's own /gc/finalizers/* deltas over the same window, the queue
// length is the runtime's, and the target is unharmed after detach; by
// default (memory reads only, registered_total unknown) and with the
// per-object probes (--trace-finalizers: registered_total counted).
func TestAttachCountsMatchRuntime(t *testing.T) {
	testutil.RequireBPF(t)
	type run struct {
		v     testutil.Variant
		trace bool
	}
	var runs []run
	for _, v := range testutil.Matrix(attachModes...) {
		runs = append(runs, run{v, false})
	}
	for _, v := range testutil.Matrix(testutil.Default) {
		runs = append(runs, run{v, true})
	}
	for _, rn := range runs {
		name := rn.v.String()
		if rn.trace {
			name += "/trace"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			exe := testutil.BuildTarget(t, "finq", rn.v)
			tg := testutil.StartTarget(t, exe, "-wait", "-rate", "400", "-fin-sleep", "1ms", "-cleanups", "100")
			tg.WaitLine(t, "READY", 10*time.Second)
			args := []string{"--interval", "200ms"}
			if rn.trace {
				// The target's cost is tiny here; the budget only guards it.
				args = append(args, "--trace-finalizers", "--overhead-budget", "0.5")
			}
			a := startAttach(t, tg.Pid, args...)
			a.attached(t)
			if err := tg.Signal(syscall.SIGUSR1); err != nil {
				t.Fatal(err)
			}
			gt0 := parseGT(t, tg.WaitLine(t, "START ", 10*time.Second))
			tg.WaitLine(t, "GT ", 10*time.Second)
			tg.WaitNextLine(t, "GT ", 10*time.Second)
			if err := tg.Signal(syscall.SIGUSR2); err != nil {
				t.Fatal(err)
			}
			gt1 := parseGT(t, tg.WaitLine(t, "DRAINED ", 60*time.Second))
			wantQ, wantE := gt1.queued-gt0.queued, gt1.executed-gt0.executed
			wantCQ, wantCE := gt1.cqueued-gt0.cqueued, gt1.cexecuted-gt0.cexecuted
			eq := func(p *uint64, want int64) bool { return p != nil && int64(*p) == want }
			s := a.waitSample(t, 10*time.Second, "totals equal to the runtime's", func(s model.Sample) bool {
				return eq(s.Finalizers.QueuedTotal, wantQ) && eq(s.Finalizers.ExecutedTotal, wantE) &&
					s.Finalizers.QueueLength != nil && *s.Finalizers.QueueLength == 0 &&
					eq(s.Cleanups.QueuedTotal, wantCQ) && eq(s.Cleanups.ExecutedTotal, wantCE)
			})
			if wantQ < 400 || wantCQ < 100 {
				t.Fatalf("target queued only %d finalizers and %d cleanups", wantQ, wantCQ)
			}
			reg := s.Finalizers.RegisteredTotal
			switch {
			case rn.trace && (reg == nil || int64(*reg) < wantQ):
				t.Errorf("registered_total %v with --trace-finalizers, want ≥ %d queued", reg, wantQ)
			case !rn.trace && (reg != nil || s.Unknown["finalizers.registered_total"] == ""):
				t.Errorf("registered_total %v without --trace-finalizers, want null and listed as unknown", nullable(reg))
			case rn.trace && (s.Trace == nil || len(s.Trace.Enabled) == 0):
				t.Errorf("trace section %+v, want the attached probes", s.Trace)
			}
			t.Logf("finalizers queued %d executed %d, cleanups queued %d executed %d: equal to runtime/metrics; registered %v",
				wantQ, wantE, wantCQ, wantCE, nullable(reg))
			// Mid-run, the queue length never exceeds what was queued and is never negative.
			for _, s := range a.all() {
				if q := s.Finalizers.QueueLength; q == nil || *q < 0 || *q > gt1.queued {
					t.Errorf("sample at %v: queue_length %v out of range", s.Time, q)
				}
				if len(s.Findings) != 0 {
					t.Errorf("sample at %v: unexpected findings %v", s.Time, findingKinds(s))
				}
			}
			// Detach, then the target keeps working and exits cleanly.
			_ = a.cmd.Process.Signal(syscall.SIGINT)
			a.wait(t, 10*time.Second)
			if err := tg.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			if exited, err := tg.Wait(10 * time.Second); !exited || err != nil {
				t.Fatalf("target after detach: exited=%v err=%v", exited, err)
			}
		})
	}
}

// TestAttachAfterStall: attaching 5 s after a finalizer blocked reports
// finalizer_stall within 2 s, naming the function, with a stack that reaches
// the blocking call; the queue length then equals the runtime's exactly.
func TestAttachAfterStall(t *testing.T) {
	testutil.RequireBPF(t)
	for _, v := range testutil.Matrix(attachModes...) {
		t.Run(v.String(), func(t *testing.T) {
			t.Parallel()
			exe := testutil.BuildTarget(t, "finq", v)
			tg := testutil.StartTarget(t, exe, "-rate", "300", "-block-after", "1s", "-freeze-after", "9s")
			tg.WaitLine(t, "BLOCKED", 20*time.Second)
			time.Sleep(5 * time.Second)
			a := startAttach(t, tg.Pid, "--interval", "500ms")
			a.attached(t)
			s := a.waitSample(t, 10*time.Second, "finalizer_stall", func(s model.Sample) bool {
				return hasFinding(s, "finalizer_stall") != nil
			})
			if d := s.Time.Sub(a.started); d > 2*time.Second+500*time.Millisecond {
				t.Errorf("finalizer_stall reported %v after attach, want ≤ 2 s", d)
			}
			f := hasFinding(s, "finalizer_stall")
			if !strings.Contains(f.Summary, "main.slowFinalizer") {
				t.Errorf("summary %q does not name main.slowFinalizer", f.Summary)
			}
			r := s.Finalizers.Running
			if r == nil || r.Function != "main.slowFinalizer" || r.State != "blocked" || r.Seconds < 4 {
				t.Fatalf("running = %+v, want main.slowFinalizer blocked ≥ 4 s", r)
			}
			if !strings.HasSuffix(r.File, "main.go") || r.Line <= 0 {
				t.Errorf("running finalizer at %s:%d, want its main.go line", r.File, r.Line)
			}
			stack := strings.Join(r.Stack, "\n")
			for _, want := range []string{"runtime.chanrecv1", "main.blockingFinalizer", "main.slowFinalizer", "runtime.runFinalizers"} {
				if !strings.Contains(stack, want) {
					t.Errorf("stack does not contain %s:\n%s", want, stack)
				}
			}
			// Once the target freezes, nothing changes: the queue length must
			// equal the runtime's queued - executed (within one finBlock).
			gt := parseGT(t, tg.WaitLine(t, "FROZEN ", 30*time.Second))
			frozenAt := time.Now()
			s = a.waitSample(t, 5*time.Second, "a sample after freezing", func(s model.Sample) bool { return s.Time.After(frozenAt) })
			want := gt.queued - gt.executed
			if q := s.Finalizers.QueueLength; q == nil || *q < want-101 || *q > want+101 {
				t.Errorf("queue_length %v, runtime says %d", q, want)
			} else {
				t.Logf("queue_length %d, runtime %d; stall reported %v after attach", *q, want, f.Since.Sub(a.started).Round(time.Millisecond))
			}
		})
	}
}

// TestCleanupStall: a blocked AddCleanup cleanup is reported as cleanup_stall.
func TestCleanupStall(t *testing.T) {
	testutil.RequireBPF(t)
	for _, v := range testutil.Matrix(attachModes...) {
		t.Run(v.String(), func(t *testing.T) {
			t.Parallel()
			exe := testutil.BuildTarget(t, "finq", v)
			tg := testutil.StartTarget(t, exe, "-rate", "50", "-cleanups", "50", "-cleanup-block-after", "1s")
			tg.WaitLine(t, "BLOCKED", 20*time.Second)
			time.Sleep(3 * time.Second)
			a := startAttach(t, tg.Pid, "--interval", "500ms")
			a.attached(t)
			s := a.waitSample(t, 10*time.Second, "cleanup_stall", func(s model.Sample) bool {
				return hasFinding(s, "cleanup_stall") != nil
			})
			r := s.Cleanups.Running
			if r == nil || r.Function != "main.stuckCleanup" {
				t.Fatalf("running cleanup = %+v, want main.stuckCleanup", r)
			}
			if !strings.Contains(strings.Join(r.Stack, "\n"), "runtime.chanrecv1") {
				t.Errorf("stack does not reach the blocking receive: %v", r.Stack)
			}
			if hasFinding(s, "finalizer_stall") != nil {
				t.Errorf("a stuck cleanup was reported as a stuck finalizer")
			}
		})
	}
}

// TestBacklog: slow (25 ms) finalizers behind a faster producer are a
// finalizer_backlog.
func TestBacklog(t *testing.T) {
	testutil.RequireBPF(t)
	for _, v := range testutil.Matrix(attachModes...) {
		t.Run(v.String(), func(t *testing.T) {
			t.Parallel()
			exe := testutil.BuildTarget(t, "finq", v)
			tg := testutil.StartTarget(t, exe, "-rate", "200", "-fin-sleep", "25ms")
			tg.WaitLine(t, "READY", 10*time.Second)
			a := startAttach(t, tg.Pid, "--interval", "500ms", "--backlog-window", "8s")
			a.attached(t)
			s := a.waitSample(t, 25*time.Second, "finalizer_backlog", func(s model.Sample) bool {
				return hasFinding(s, "finalizer_backlog") != nil
			})
			f := hasFinding(s, "finalizer_backlog")
			g, _ := f.Evidence["growth_per_second"].(float64)
			if g < 50 || g > 250 {
				t.Errorf("growth %v/s, want about 160/s (200 in, 40 out)", g)
			}
			t.Logf("%s", f.Summary)
		})
	}
}

// TestNoFindingsForHealthyTarget: many fast finalizers for 30 s, default
// thresholds: no finding at all.
func TestNoFindingsForHealthyTarget(t *testing.T) {
	testutil.RequireBPF(t)
	for _, v := range testutil.Matrix(testutil.Default) {
		t.Run(v.String(), func(t *testing.T) {
			t.Parallel()
			exe := testutil.BuildTarget(t, "finq", v)
			tg := testutil.StartTarget(t, exe, "-rate", "2000", "-cleanups", "500")
			tg.WaitLine(t, "READY", 10*time.Second)
			a := startAttach(t, tg.Pid, "--duration", "32s")
			a.wait(t, 60*time.Second)
			ss := a.all()
			if len(ss) < 25 {
				t.Fatalf("only %d samples in 32 s", len(ss))
			}
			var executed uint64
			for _, s := range ss {
				if len(s.Findings) != 0 {
					t.Errorf("sample at %v: findings %v", s.Time, findingKinds(s))
				}
				if s.Finalizers.ExecutedTotal != nil {
					executed = *s.Finalizers.ExecutedTotal
				}
			}
			if executed < 30000 {
				t.Errorf("only %d finalizers executed: the target did not run as expected", executed)
			}
		})
	}
}

// nullable prints a counter that may be null, for messages.
func nullable(v *uint64) any {
	if v == nil {
		return "null"
	}
	return *v
}
