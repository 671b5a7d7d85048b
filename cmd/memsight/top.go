package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"regexp"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/memsight/memsight/pkg/agent"
	"github.com/memsight/memsight/pkg/detect"
	"github.com/memsight/memsight/pkg/export/api"
	"github.com/memsight/memsight/pkg/export/term"
)

type topOptions struct {
	from        string
	fromAuth    fromAuth
	interval    time.Duration
	iterations  int
	sort        string
	output      string
	stackFrames int
	includeComm string
	excludeComm string
	detect      detect.Config
}

func newTopCmd(g *globalOptions) *cobra.Command {
	o := &topOptions{detect: detect.Defaults()}
	cmd := &cobra.Command{
		Use:   "top",
		Short: "Live overview of the node's Go processes: RSS, heap, goroutines, finalizer queue, findings",
		Long: `top shows the Go processes of this machine with their RSS, RSS growth, heap,
goroutines, finalizer queue and running finalizer, and below them the active
findings with the stuck finalizer's stack, refreshed every --interval.

By default top watches the node itself (it needs the agent's privileges). With
--from it reads a running agent's JSON API instead and needs no privilege:
  kubectl -n memsight port-forward pod/memsight-xxxxx 9464   # the node's agent pod
  memsight top --from http://127.0.0.1:9464
An agent protected by --web.config.file takes https:// and --from-ca-file,
--from-cert-file/--from-key-file and --from-user/--from-password-file.

On a terminal the view is redrawn in place until q or Ctrl-C; keys r, h, f, g
and p sort by RSS, heap, finalizer queue, goroutines and PID. When stdout is
not a terminal, or with -n N, top prints N frames (default 1) one after the
other and exits, like top -b. RSS/h is the detector's least-squares slope once
half its growth window is sampled, "~" top's own estimate before that.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(o.output); err != nil {
				return err
			}
			if _, err := term.ParseSort(o.sort); err != nil {
				return usagef("--sort: %v", err)
			}
			if o.interval < 100*time.Millisecond {
				return usagef("--interval must be at least 100ms, got %v", o.interval)
			}
			if o.iterations < 0 {
				return usagef("--iterations must be positive, got %d", o.iterations)
			}
			if !cmd.Flags().Changed("log-level") {
				quiet := *g
				quiet.logLevel = "warn" // the agent's info lines would scroll the view away
				g = &quiet
			}
			src, err := openTopSource(cmd, g, o)
			if err != nil {
				return err
			}
			err = runTop(cmd.Context(), cmd.OutOrStdout(), src, o)
			if cerr := src.close(); err == nil && cerr != nil {
				err = fmt.Errorf("stopping: %w", cerr)
			}
			return err
		},
	}
	f := cmd.Flags()
	outputFlag(cmd, &o.output)
	f.StringVar(&o.from, "from", "", "read a running agent's JSON API at this address (http://HOST:9464) instead of watching the node")
	addFromAuthFlags(f, &o.fromAuth)
	f.DurationVar(&o.interval, "interval", 2*time.Second, "time between two frames (and two samples of a process)")
	f.IntVarP(&o.iterations, "iterations", "n", 0, "print this many frames and exit (default: redraw until q on a terminal, 1 frame otherwise)")
	f.StringVar(&o.sort, "sort", string(term.SortRSS), "sort by rss, heap, finq, goroutines or pid")
	f.IntVar(&o.stackFrames, "stack-frames", 6, "frames of a stuck finalizer's stack shown under its finding")
	f.StringVar(&o.includeComm, "include-comm", "", "watch only processes whose comm matches this regular expression (not with --from)")
	f.StringVar(&o.excludeComm, "exclude-comm", "", "never watch processes whose comm matches this regular expression (not with --from)")
	f.DurationVar(&o.detect.StallThreshold, "stall-threshold", o.detect.StallThreshold, "a finalizer or cleanup running longer than this is stuck (not with --from)")
	_ = cmd.RegisterFlagCompletionFunc("sort", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return []string{"rss", "heap", "finq", "goroutines", "pid"}, cobra.ShellCompDirectiveNoFileComp
	})
	return cmd
}

// openTopSource returns the agent API --from names, or an in-process agent.
func openTopSource(cmd *cobra.Command, g *globalOptions, o *topOptions) (topSource, error) {
	if o.from != "" {
		for _, name := range []string{"include-comm", "exclude-comm", "stall-threshold"} {
			if cmd.Flags().Changed(name) {
				return nil, usagef("--%s applies to the node top watches itself; with --from, the agent's own settings apply", name)
			}
		}
		u, err := parseFrom(o.from)
		if err != nil {
			return nil, err
		}
		client, err := o.fromAuth.client(u, max(5*time.Second, o.interval))
		if err != nil {
			return nil, err
		}
		return &httpSource{base: u, client: client}, nil
	}
	if o.fromAuth.set() {
		return nil, usagef("--from-* flags need --from")
	}
	cfg := agent.Config{Interval: o.interval, Detect: o.detect}
	for _, r := range []struct {
		flag, expr string
		dst        **regexp.Regexp
	}{{"include-comm", o.includeComm, &cfg.IncludeComm}, {"exclude-comm", o.excludeComm, &cfg.ExcludeComm}} {
		if r.expr == "" {
			continue
		}
		re, err := regexp.Compile(r.expr)
		if err != nil {
			return nil, usagef("--%s: %v", r.flag, err)
		}
		*r.dst = re
	}
	src, err := startEngine(cmd.Context(), g, cfg)
	if err != nil {
		return nil, err
	}
	if err := src.waitReady(cmd.Context(), 10*time.Second); err != nil {
		_ = src.close()
		return nil, err
	}
	return src, nil
}

// runTop draws frames until ctx is done, q, or the iterations are printed.
func runTop(ctx context.Context, out io.Writer, src topSource, o *topOptions) error {
	order, _ := term.ParseSort(o.sort)
	opts := term.Options{Sort: order, StackFrames: o.stackFrames, Interval: o.interval, History: term.NewHistory()}
	f, isFile := out.(*os.File)
	if o.output == "table" && o.iterations == 0 && isFile && isTerminal(out) {
		return liveTop(ctx, f, src, opts)
	}
	n := o.iterations
	if n == 0 {
		n = 1
	}
	if isFile && isTerminal(out) {
		scr := &screen{out: f}
		opts.Width, _ = scr.size()
	}
	tick := time.NewTicker(o.interval)
	defer tick.Stop()
	for i := range n {
		if i > 0 {
			select {
			case <-ctx.Done():
				return nil
			case <-tick.C:
			}
		}
		v, err := src.view(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			return err
		}
		opts.History.Observe(v)
		if o.output == "json" {
			if err := writeJSONLine(out, jsonFrame(v, opts)); err != nil {
				return err
			}
			continue
		}
		if i > 0 {
			fmt.Fprintln(out)
		}
		if err := term.Render(out, v, opts); err != nil {
			return err
		}
	}
	return nil
}

// liveTop redraws the frame in place on the terminal until ctx is done or
// q is typed; a failed refresh keeps the last frame and says why.
func liveTop(ctx context.Context, out *os.File, src topSource, opts term.Options) error {
	v, err := src.view(ctx) // the first error ends top before the screen switches
	if ctx.Err() != nil {
		return nil
	}
	if err != nil {
		return err
	}
	scr := openScreen(out)
	defer scr.close()
	ctx, cancel := context.WithCancel(ctx)
	keys := make(chan byte, 16)
	done := make(chan struct{})
	go func() { defer close(done); scr.readKeys(ctx, keys) }()
	defer func() { cancel(); <-done }()
	winch := make(chan os.Signal, 1)
	signal.Notify(winch, syscall.SIGWINCH)
	defer signal.Stop(winch)
	tick := time.NewTicker(opts.Interval)
	defer tick.Stop()

	var status string
	opts.History.Observe(v)
	for {
		opts.Width, opts.Height = scr.size()
		opts.Status = status
		scr.draw(term.Lines(v, opts))
		select {
		case <-ctx.Done():
			return nil
		case <-winch:
			continue
		case k := <-keys:
			if k == 'q' || k == 'Q' {
				return nil
			}
			if s, ok := sortKey(k); ok {
				opts.Sort = s
			}
			continue
		case <-tick.C:
		}
		nv, err := src.view(ctx)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			status = time.Now().Format(time.TimeOnly) + " refresh failed, showing the previous frame: " + err.Error()
		default:
			v, status = nv, ""
			opts.History.Observe(v)
		}
	}
}

// sortKey is the order a key of the live view asks for.
func sortKey(k byte) (term.Sort, bool) {
	switch k {
	case 'r':
		return term.SortRSS, true
	case 'h':
		return term.SortHeap, true
	case 'f':
		return term.SortFinQ, true
	case 'g':
		return term.SortGoroutines, true
	case 'p':
		return term.SortPID, true
	}
	return "", false
}

// topFrame is one frame of -o json.
type topFrame struct {
	Time      time.Time          `json:"time"`
	Source    string             `json:"source"`
	Processes []term.Row         `json:"processes"`
	Findings  []api.FindingEntry `json:"findings"`
}

func jsonFrame(v term.View, o term.Options) topFrame {
	fr := topFrame{Time: v.Time, Source: v.Source, Processes: term.Rows(v, o), Findings: []api.FindingEntry{}}
	for _, p := range v.Processes {
		if p.Sample == nil {
			continue
		}
		for _, f := range p.Sample.Findings {
			fr.Findings = append(fr.Findings, api.FindingEntry{PID: p.PID, Comm: p.Comm, GoVersion: p.GoVersion,
				ContainerID: p.ContainerID, PodUID: p.PodUID, Namespace: p.Namespace, Finding: f})
		}
	}
	return fr
}
