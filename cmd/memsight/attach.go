package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/memsight/memsight/pkg/detect"
	"github.com/memsight/memsight/pkg/goexe"
	"github.com/memsight/memsight/pkg/observe"
	"github.com/memsight/memsight/pkg/probe"
	"github.com/memsight/memsight/pkg/process"
)

type attachOptions struct {
	output   string
	interval time.Duration
	duration time.Duration
	detect   detect.Config
}

func newAttachCmd(g *globalOptions) *cobra.Command {
	o := &attachOptions{detect: detect.Defaults()}
	cmd := &cobra.Command{
		Use:   "attach PID",
		Short: "Watch one Go process live: finalizer and cleanup queues, the running finalizer and its stack, findings",
		Long: `attach attaches uprobes to the Go runtime of one running process (no
restart, no code change), reads its runtime state from memory (read only), and
prints a sample every --interval until Ctrl-C, --duration or the process's exit.
Then it detaches everything.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			pid, err := strconv.Atoi(args[0])
			if err != nil || pid <= 0 {
				return usagef("PID must be a positive integer, got %q", args[0])
			}
			if err := checkOutput(o.output); err != nil {
				return err
			}
			if o.interval < 10*time.Millisecond {
				return usagef("--interval must be at least 10ms, got %v", o.interval)
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
	return cmd
}

func runAttach(cmd *cobra.Command, g *globalOptions, o *attachOptions, pid int) error {
	ctx := cmd.Context()
	log := g.logger()
	if _, err := os.Stat("/sys/bus/event_source/devices/uprobe"); err != nil {
		return fmt.Errorf("this kernel has no uprobe support (/sys/bus/event_source/devices/uprobe is missing): memsight needs CONFIG_UPROBE_EVENTS")
	}
	procs, err := process.New(process.Config{ProcRoot: g.procRoot})
	if err != nil {
		return err
	}
	probes, err := probe.New(probe.Config{Logger: log})
	if err != nil {
		if errors.Is(err, probe.ErrPermission) {
			missing, _ := process.MissingCapabilities(g.procRoot, "CAP_BPF", "CAP_PERFMON", "CAP_SYS_PTRACE")
			if len(missing) > 0 {
				return fmt.Errorf("loading BPF: permission denied: run as root or grant %s", strings.Join(missing, ", "))
			}
		}
		return fmt.Errorf("loading BPF: %w", err)
	}
	defer probes.Close()
	sess, err := observe.Attach(observe.AttachConfig{
		PID: pid, ProcRoot: g.procRoot, Logger: log, Procs: procs, Cache: goexe.NewCache(4), Probes: probes,
	})
	if err != nil {
		return err
	}
	defer sess.Close()
	p, b := sess.Process(), sess.Binary()
	fmt.Fprintf(cmd.ErrOrStderr(), "memsight: attached to pid %d (%s, %s): %d probes\n", pid, p.Comm, b.GoVersion, len(sess.Points()))

	det := detect.New(o.detect)
	out := cmd.OutOrStdout()
	tty := o.output == "table" && isTerminal(out)
	var deadline <-chan time.Time
	if o.duration > 0 {
		deadline = time.After(o.duration)
	}
	tick := time.NewTicker(o.interval)
	defer tick.Stop()
	var prev *observe.Sample
	for {
		s, err := sess.Sample()
		if errors.Is(err, observe.ErrExited) {
			fmt.Fprintf(cmd.ErrOrStderr(), "memsight: pid %d exited\n", pid)
			return nil
		}
		if err != nil {
			return err
		}
		s.Findings = det.Update(s)
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

func emit(w io.Writer, output string, tty bool, s, prev *observe.Sample) error {
	if output == "json" {
		return writeJSONLine(w, s)
	}
	if tty {
		fmt.Fprint(w, "\x1b[H\x1b[2J")
	} else if prev != nil {
		fmt.Fprintln(w)
	}
	renderSample(w, s, prev)
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
