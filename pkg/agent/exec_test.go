package agent

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/memsight/memsight/pkg/goexe"
	"github.com/memsight/memsight/pkg/model"
	"github.com/memsight/memsight/pkg/probe"
	"github.com/memsight/memsight/pkg/process"
	"github.com/memsight/memsight/pkg/testutil"
)

// never is a rescan and reconcile interval that does not come during a
// test: only an exec event can explain an attach.
const never = time.Hour

// runAgentProbes is runAgent with probes loaded with pcfg: an agent limited
// to processes whose comm matches include, until the test ends; then it
// checks that the agent detached everything and left no file descriptor open.
func runAgentProbes(t *testing.T, pcfg probe.Config, include string, tweak ...func(*Config)) *Agent {
	t.Helper()
	testutil.RequireBPF(t)
	fds0 := countFDs(t)
	procs, err := process.New(process.Config{})
	if err != nil {
		t.Fatal(err)
	}
	probes, err := probe.New(pcfg)
	if err != nil {
		t.Fatalf("loading BPF: %v", err)
	}
	cache := goexe.NewCache(16)
	cfg := Config{
		Procs: procs, Cache: cache, Probes: probes, IncludeComm: regexp.MustCompile(include),
		Interval: 200 * time.Millisecond,
	}
	for _, f := range tweak {
		f(&cfg)
	}
	a, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := a.Run(ctx); err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		if st := a.Snapshot().Stats; st.Watched != 0 || st.Binaries != 0 {
			t.Errorf("after Run returned: %d watched, %d binaries attached", st.Watched, st.Binaries)
		}
		if err := probes.Close(); err != nil {
			t.Error(err)
		}
		if err := cache.Close(); err != nil {
			t.Error(err)
		}
		if n := countFDs(t); n > fds0 {
			t.Errorf("%d file descriptors open before the agent, %d after", fds0, n)
		}
	})
	waitFor(t, 10*time.Second, "ready", func() bool { return a.Snapshot().Stats.Ready })
	return a
}

// processOf returns pid's entry in a snapshot.
func processOf(a *Agent, pid int) (model.Process, bool) {
	for _, p := range a.Snapshot().Processes {
		if p.PID == pid {
			return p, true
		}
	}
	return model.Process{}, false
}

// latencies summarises attach latencies: median and p90.
func latencies(d []time.Duration) string {
	slices.Sort(d)
	q := func(f float64) time.Duration { return d[int(f*float64(len(d)-1)+0.5)].Round(time.Millisecond) }
	return fmt.Sprintf("%d starts: median %v, p90 %v, max %v", len(d), q(0.5), q(0.9), d[len(d)-1].Round(time.Millisecond))
}

// stopTarget kills a watched target and waits until its probes are
// detached, so that the next start attaches them afresh (a process of an
// executable being detached waits for the detach, hundreds of ms).
func stopTarget(t *testing.T, a *Agent, tg *testutil.Target) {
	t.Helper()
	if err := tg.Cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the probes detached", func() bool { return a.Snapshot().Stats.Binaries == 0 })
}

// TestAgentExecEvents: with /proc never rescanned, a new Go process is
// watched within a second of its exec (it is watched from its exec event
// alone), start after start, and the agent says exec events are live.
func TestAgentExecEvents(t *testing.T) {
	exe := filepath.Join(t.TempDir(), "execev-idle")
	copyTo(t, testutil.BuildTarget(t, "idle", testutil.Variant{Toolchain: testutil.GoInstalled, Mode: testutil.PIE}), exe)
	a := runAgentProbes(t, probe.Config{}, "^execev-", func(c *Config) { c.Rescan, c.Reconcile = never, never })
	if !a.Snapshot().Stats.ExecEvents {
		t.Fatal("Stats.ExecEvents is false: the exec tracepoint is not attached")
	}
	var took []time.Duration
	for range 10 {
		start := time.Now()
		tg := testutil.StartTarget(t, exe) // returns after the exec
		waitFor(t, time.Second, "the new process watched", func() bool { return stateOf(a, tg.Pid) == model.StateWatching })
		took = append(took, time.Since(start))
		stopTarget(t, a, tg)
	}
	t.Logf("attach latency after exec, exec events only: %s", latencies(took))
}

// TestAgentRescanFallback: without exec events, a Rescan left at its
// default lists /proc every FallbackRescan, and new processes are still
// found.
func TestAgentRescanFallback(t *testing.T) {
	exe := filepath.Join(t.TempDir(), "execfb-idle")
	copyTo(t, testutil.BuildTarget(t, "idle", testutil.Variant{Toolchain: testutil.GoInstalled, Mode: testutil.PIE}), exe)
	a := runAgentProbes(t, probe.Config{NoExecEvents: true}, "^execfb-")
	if a.Snapshot().Stats.ExecEvents {
		t.Fatal("Stats.ExecEvents is true with probe.Config.NoExecEvents")
	}
	if got := a.rescanInterval(); got != FallbackRescan {
		t.Fatalf("rescan interval without exec events: %v, want %v", got, FallbackRescan)
	}
	var took []time.Duration
	for range 5 {
		start := time.Now()
		tg := testutil.StartTarget(t, exe)
		waitFor(t, 2*time.Second, "the new process watched", func() bool { return stateOf(a, tg.Pid) == model.StateWatching })
		took = append(took, time.Since(start))
		stopTarget(t, a, tg)
	}
	t.Logf("attach latency after exec, rescan every %v only: %s", FallbackRescan, latencies(took))
}

// TestAgentExecMinAge: a process found by its exec event is attached once
// it is MinProcessAge old, not before, and without waiting for a rescan.
func TestAgentExecMinAge(t *testing.T) {
	const age = 700 * time.Millisecond
	exe := filepath.Join(t.TempDir(), "execage-idle")
	copyTo(t, testutil.BuildTarget(t, "idle", testutil.Variant{Toolchain: testutil.GoInstalled, Mode: testutil.Default}), exe)
	a := runAgentProbes(t, probe.Config{}, "^execage-", func(c *Config) {
		c.Rescan, c.Reconcile, c.MinProcessAge = never, never, age
	})
	start := time.Now()
	tg := testutil.StartTarget(t, exe)
	// /proc start times are precise to about a second (see tooYoung).
	took := waitFor(t, age+2*time.Second, "the process watched", func() bool { return stateOf(a, tg.Pid) == model.StateWatching })
	p, _ := processOf(a, tg.Pid)
	if d := p.Since.Sub(start); d < age {
		t.Errorf("watched %v after its start, before --min-process-age %v", d, age)
	}
	t.Logf("watched %v after its exec (min age %v)", took.Round(time.Millisecond), age)
}

// TestAgentReexec: a watched process that execs its own executable again
// (same PID, same file, a new program) is detached and watched afresh:
// nothing learnt from the old program is kept, its opt-in probes included.
// Neither the rescan nor the reconcile run, and the executable's device and
// inode do not change: only the exec event can tell.
func TestAgentReexec(t *testing.T) {
	exe := filepath.Join(t.TempDir(), "reexec-helper")
	copyTo(t, os.Args[0], exe) // a Go program; a new inode, so not memsight's own executable
	a := runAgentProbes(t, probe.Config{}, "^reexec-", func(c *Config) {
		c.Rescan, c.Reconcile, c.Trace = never, never, probe.Trace{Finalizers: true}
	})
	t.Setenv(reexecEnv, "1")
	tg := testutil.StartTarget(t, exe, "-test.run=^TestReexecHelper$", "1")
	tg.WaitLine(t, "READY 1", 10*time.Second)
	waitFor(t, 2*time.Second, "the process watched", func() bool { return stateOf(a, tg.Pid) == model.StateWatching })
	before, _ := processOf(a, tg.Pid)

	for gen := 2; gen <= 3; gen++ {
		execAt := time.Now()
		if err := tg.Signal(syscall.SIGUSR1); err != nil {
			t.Fatal(err)
		}
		tg.WaitNextLine(t, "READY "+strconv.Itoa(gen), 10*time.Second)
		took := waitFor(t, 2*time.Second, "the process watched again after its exec", func() bool {
			p, ok := processOf(a, tg.Pid)
			return ok && p.State == model.StateWatching && p.Since.After(execAt)
		})
		t.Logf("exec %d: watched again %v after the exec signal", gen-1, took.Round(time.Millisecond))
	}
	after, _ := processOf(a, tg.Pid)
	if !after.Since.After(before.Since) || after.PID != before.PID {
		t.Errorf("before the execs: %+v; after: %+v", before, after)
	}
	if n := a.Snapshot().Stats.Binaries; n != 1 {
		t.Errorf("%d attachments for one executable", n)
	}
}

const reexecEnv = "MEMSIGHT_REEXEC_HELPER"

// TestReexecHelper is not a test: run by TestAgentReexec (with
// MEMSIGHT_REEXEC_HELPER=1) as a copy of the test binary, it prints
// "READY <generation>", and on SIGUSR1 execs itself with the next one.
func TestReexecHelper(t *testing.T) {
	if os.Getenv(reexecEnv) != "1" {
		t.Skip("helper process of TestAgentReexec")
	}
	gen, err := strconv.Atoi(flag.Arg(0))
	if err != nil {
		t.Fatalf("generation %q: %v", flag.Arg(0), err)
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGUSR1)
	fmt.Printf("READY %d\n", gen)
	<-sig
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	err = syscall.Exec(self, []string{self, "-test.run=^TestReexecHelper$", strconv.Itoa(gen + 1)}, os.Environ())
	t.Fatalf("exec %s: %v", self, err)
}
