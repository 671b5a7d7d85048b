package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/memsight/memsight/pkg/detect"
	"github.com/memsight/memsight/pkg/export/term"
	"github.com/memsight/memsight/pkg/goexe"
	"github.com/memsight/memsight/pkg/goruntime/leak"
	"github.com/memsight/memsight/pkg/model"
	"github.com/memsight/memsight/pkg/observe"
	"github.com/memsight/memsight/pkg/preflight"
	"github.com/memsight/memsight/pkg/probe"
	"github.com/memsight/memsight/pkg/process"
)

type attachOptions struct {
	output   string
	interval time.Duration
	duration time.Duration
	detect   detect.Config
	// allocProbes is --alloc-probes: "" (off), "slow" or "all".
	allocProbes string
	traceOptions
	leaks observe.LeakScan
}

func newAttachCmd(g *globalOptions) *cobra.Command {
	o := &attachOptions{detect: detect.Defaults()}
	// During an incident a whole growth window is too long to wait: growth
	// findings fire from 30 s on, once the trend is statistically clear.
	o.detect.GrowthMinWindow = 30 * time.Second
	cmd := &cobra.Command{
		Use:   "attach PID",
		Short: "Watch one Go process live: finalizer and cleanup queues, the running finalizer and its stack, findings",
		Long: `attach reads the Go runtime state of one running process from its memory
(read only; no restart, no code change, nothing attached to it by default) and
/proc, and prints a sample every --interval until Ctrl-C, --duration or the
process's exit. --trace-finalizers, --trace-gc and --alloc-probes add uprobes
(BPF) for what memory cannot tell, each under --overhead-budget; they are
detached on exit.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			pid, err := strconv.Atoi(args[0])
			if err != nil || pid <= 0 {
				return usagef("PID must be a positive integer, got %q", args[0])
			}
			if err := checkOutput(o.output); err != nil {
				return err
			}
			if err := checkAllocFlags(o); err != nil {
				return err
			}
			if err := checkLeakScan(o.leaks); err != nil {
				return err
			}
			if o.interval < 10*time.Millisecond {
				return usagef("--interval must be at least 10ms, got %v", o.interval)
			}
			if o.detect.GrowthMinWindow <= 0 {
				return usagef("--growth-min-window must be a positive duration such as 30s, got %v", o.detect.GrowthMinWindow)
			}
			if c := o.detect.GrowthConfidence; !(c > 0 && c < 1) {
				return usagef("--growth-confidence must be between 0 and 1 (exclusive), such as 0.99, got %v", c)
			}
			return runAttach(cmd, g, o, pid)
		},
	}
	f := cmd.Flags()
	outputFlag(cmd, &o.output)
	f.DurationVar(&o.interval, "interval", time.Second, "time between samples")
	f.DurationVar(&o.duration, "duration", 0, "stop after this long (0: until Ctrl-C or the process exits)")
	f.DurationVar(&o.detect.StallThreshold, "stall-threshold", o.detect.StallThreshold, "a finalizer or cleanup running longer than this is stuck")
	f.Float64Var(&o.detect.BacklogAccel, "backlog-accel", o.detect.BacklogAccel, "finalizer_backlog: second difference of the queue length (finalizers/s²) that counts as accelerating")
	f.DurationVar(&o.detect.BacklogWindow, "backlog-window", o.detect.BacklogWindow, "finalizer_backlog: a queue growing monotonically this long is a backlog")
	f.DurationVar(&o.detect.GrowthWindow, "growth-window", o.detect.GrowthWindow, "growth slopes are least-squares fits over this window; growth findings fire over a whole window, or earlier (--growth-min-window)")
	f.DurationVar(&o.detect.GrowthMinWindow, "growth-min-window", o.detect.GrowthMinWindow, "growth findings fire before a whole --growth-window once the samples span this long and the slope's --growth-confidence interval lies above the threshold (set it to --growth-window to wait for a whole window)")
	f.Float64Var(&o.detect.GrowthConfidence, "growth-confidence", o.detect.GrowthConfidence, "confidence (two-sided) of the slope's interval that early growth findings need above the threshold")
	f.Float64Var(&o.detect.GrowthMinR2, "growth-min-r2", o.detect.GrowthMinR2, "growth findings need a linear fit with at least this R²")
	f.Var((*byteRate)(&o.detect.RSSGrowthThreshold), "rss-growth-threshold", "rss_growth: RSS growth per hour above which it fires")
	f.Var((*byteRate)(&o.detect.HeapGrowthThreshold), "heap-growth-threshold", "heap_growth: heap in use growth per hour above which it fires")
	f.Float64Var(&o.detect.GoroutineGrowthThreshold, "goroutine-growth-threshold", o.detect.GoroutineGrowthThreshold, "goroutine_growth: goroutines per hour above which it fires")
	f.Float64Var(&o.detect.FDGrowthThreshold, "fd-growth-threshold", o.detect.FDGrowthThreshold, "fd_growth: open file descriptors per hour above which it fires")
	f.Float64Var(&o.detect.GCPauseFactor, "gc-pause-factor", o.detect.GCPauseFactor, "gc_pause_regression: p99 GC pause over its baseline (median of the first samples) that fires")
	f.DurationVar(&o.detect.GCPauseFloor, "gc-pause-floor", o.detect.GCPauseFloor, "gc_pause_regression: p99 GC pauses below this never fire")
	f.StringVar(&o.allocProbes, "alloc-probes", "", "sample allocation stacks with uprobes on the allocator's slow paths (--alloc-probes); --alloc-probes=all adds the mallocgc family (every allocation, costly)")
	f.Lookup("alloc-probes").NoOptDefVal = string(observe.AllocSlow)
	addTraceFlags(f, &o.traceOptions)
	addLeakScanFlags(f, &o.leaks, "30s", leak.DefaultMaxMemory, leak.DefaultReadRate)
	return cmd
}

// checkAllocFlags validates --alloc-probes and --overhead-budget.
func checkAllocFlags(o *attachOptions) error {
	switch o.allocProbes {
	case "", "off":
		o.allocProbes = string(observe.AllocOff)
	case string(observe.AllocSlow), string(observe.AllocAll):
	default:
		return usagef("--alloc-probes must be slow or all, got %q", o.allocProbes)
	}
	return o.checkBudget()
}

// loadAttachProbes loads the BPF object of attach's opt-in probes, after
// the startup checks that decide whether they can work here (pkg/preflight:
// kernel, uprobe support, capabilities).
func loadAttachProbes(g *globalOptions, log *slog.Logger) (*probe.Probes, error) {
	results := preflight.Run(preflightConfig(g, ""))
	for _, r := range results {
		if r.Status == preflight.Warn {
			log.Debug("startup check", "check", r.Name, "message", r.Message)
		}
	}
	if failed := preflight.Failed(results); len(failed) > 0 {
		return nil, fmt.Errorf("the opt-in probes cannot run here: %s (memsight check lists every check)", failedChecks(failed))
	}
	probes, err := probe.New(probe.Config{Logger: log, NoExecEvents: true}) // one process: no discovery
	if err != nil {
		return nil, fmt.Errorf("loading BPF: %w", err)
	}
	return probes, nil
}

func runAttach(cmd *cobra.Command, g *globalOptions, o *attachOptions, pid int) error {
	ctx := cmd.Context()
	log := g.logger()
	procs, err := g.procs()
	if err != nil {
		return err
	}
	// BPF only for the opt-in probes: by default everything comes from the
	// process's memory and /proc.
	var probes *probe.Probes
	if o.trace.Any() || o.allocProbes != "" {
		if probes, err = loadAttachProbes(g, log); err != nil {
			return err
		}
		defer probes.Close()
	}
	sess, err := observe.Attach(observe.AttachConfig{
		PID: pid, Logger: log, Procs: procs, Cache: goexe.NewCache(4), Probes: probes,
		Trace: o.trace, AllocProbes: observe.AllocMode(o.allocProbes), OverheadBudget: o.overheadBudget,
		Leaks: o.leaks,
	})
	if err != nil {
		return err
	}
	defer sess.Close()
	p, b := sess.Process(), sess.Binary()
	if n := len(sess.Points()); n > 0 {
		fmt.Fprintf(cmd.ErrOrStderr(), "memsight: attached to pid %d (%s, %s): %d probes, overhead budget %g %% of one CPU\n", pid, p.Comm, b.GoVersion, n, o.overheadBudget*100)
	} else {
		fmt.Fprintf(cmd.ErrOrStderr(), "memsight: attached to pid %d (%s, %s): reading its memory, no probes\n", pid, p.Comm, b.GoVersion)
	}
	if ap := sess.AllocPoints(); len(ap) > 0 {
		fmt.Fprintf(cmd.ErrOrStderr(), "memsight: %d allocation probes, overhead budget %g %% of one CPU\n", len(ap), o.overheadBudget*100)
	}

	det := detect.New(o.detect)
	out := cmd.OutOrStdout()
	tty := o.output == "table" && isTerminal(out)
	var deadline <-chan time.Time
	if o.duration > 0 {
		deadline = time.After(o.duration)
	}
	tick := time.NewTicker(o.interval)
	defer tick.Stop()
	var prev *model.Sample
	for {
		s, err := sess.Sample()
		if errors.Is(err, process.ErrNoProcess) {
			fmt.Fprintf(cmd.ErrOrStderr(), "memsight: pid %d exited\n", pid)
			return nil
		}
		if err != nil {
			return err
		}
		s.Findings = det.Update(s)
		term.RenderDetached(cmd.ErrOrStderr(), s, prev)
		if err := emit(out, o.output, tty, s, prev); err != nil {
			return err
		}
		prev = s
		select {
		case <-ctx.Done():
			return nil
		case <-deadline:
			return nil
		case <-tick.C:
		}
	}
}

func emit(w io.Writer, output string, tty bool, s, prev *model.Sample) error {
	if output == "json" {
		return writeJSONLine(w, s)
	}
	if tty {
		fmt.Fprint(w, "\x1b[H\x1b[2J")
	} else if prev != nil {
		fmt.Fprintln(w)
	}
	term.RenderSample(w, s, prev)
	return nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// byteRate is a flag of bytes (per hour, by the flag's name): "10MiB",
// "512KiB", "1GiB" or a plain number of bytes.
type byteRate float64

func (b *byteRate) String() string { return strings.ReplaceAll(term.HumanBytes(uint64(*b)), " ", "") }

func (b *byteRate) Type() string { return "bytes" }

func (b *byteRate) Set(s string) error {
	mult := 1.0
	for _, u := range []struct {
		suffix string
		mult   float64
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"B", 1}} {
		if strings.HasSuffix(s, u.suffix) {
			s, mult = strings.TrimSpace(strings.TrimSuffix(s, u.suffix)), u.mult
			break
		}
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v <= 0 {
		return fmt.Errorf("want a positive size such as 10MiB, got %q", s)
	}
	*b = byteRate(v * mult)
	return nil
}
