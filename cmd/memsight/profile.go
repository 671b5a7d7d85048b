package main

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/memsight/memsight/pkg/export/term"
	"github.com/memsight/memsight/pkg/goexe"
	"github.com/memsight/memsight/pkg/heapprof"
	"github.com/memsight/memsight/pkg/profiles"
	"github.com/memsight/memsight/pkg/target"
)

type profileOptions struct {
	out        string
	typ        string
	maxBuckets int
}

func newProfileCmd(g *globalOptions) *cobra.Command {
	o := &profileOptions{}
	cmd := &cobra.Command{
		Use:   "profile PID [--type heap|goroutine] -o FILE",
		Short: "Write the heap or goroutine profile of a Go process (what runtime/pprof writes), read from its memory",
		Long: `profile reads the sampled heap profile the Go runtime of a running process
keeps (allocations by stack, as of the last completed GC) from its memory, read
only, with no probe, signal or restart, and writes it as a gzipped pprof
profile: go tool pprof -sample_index=inuse_space FILE.

The runtime records it when runtime/pprof (or net/http/pprof) is linked in and
MemProfileRate > 0; otherwise the linker disables heap profiling.

With --type goroutine it writes a goroutine profile instead: the process's
goroutines counted by stack (what /debug/pprof/goroutine serves), unwound from
memory; every Go process has one.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			pid, err := strconv.Atoi(args[0])
			if err != nil || pid <= 0 {
				return usagef("PID must be a positive integer, got %q", args[0])
			}
			if o.out == "" {
				return usagef("-o FILE is required (- for standard output)")
			}
			switch o.typ {
			case "heap":
				return runProfile(cmd, g, o, pid)
			case "goroutine":
				return runGoroutineProfile(cmd, g, o, pid)
			}
			return usagef("--type must be heap or goroutine, got %q", o.typ)
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.out, "output", "o", "", `file to write the gzipped pprof profile to ("-": standard output)`)
	f.StringVar(&o.typ, "type", "heap", "profile to write: heap or goroutine")
	f.IntVar(&o.maxBuckets, "max-buckets", heapprof.DefaultMaxBuckets, "read at most this many profile buckets (allocation sites)")
	return cmd
}

// profileTarget reads process pid and inspects its executable (pkg/target)
// for a profile; done releases the executable.
func profileTarget(g *globalOptions, pid int) (_ profiles.Target, done func(), err error) {
	procs, err := g.procs()
	if err != nil {
		return profiles.Target{}, nil, err
	}
	cache := goexe.NewCache(1)
	p, b, err := target.Inspect(target.Config{PID: pid, Procs: procs, Cache: cache})
	if err != nil {
		cache.Close()
		return profiles.Target{}, nil, err
	}
	return profiles.Target{PID: pid, Procs: procs, Binary: b, Process: &p}, func() { cache.Close() }, nil
}

func runProfile(cmd *cobra.Command, g *globalOptions, o *profileOptions, pid int) error {
	t, done, err := profileTarget(g, pid)
	if err != nil {
		return err
	}
	defer done()
	// The command line reads the whole profile: no read budget.
	h, err := profiles.Heap(t, profiles.Options{MaxBytes: math.MaxInt64, MaxBuckets: o.maxBuckets})
	var nr *heapprof.NotRecordedError
	switch {
	case errors.As(err, &nr):
		return explain(err, "pid %d does not record a heap profile (%s)", pid, nr.Reason)
	case err != nil:
		return err
	}
	if err := writeProfile(cmd, o.out, h.Profile.Write); err != nil {
		return err
	}
	var inuse int64
	for _, s := range h.Profile.Sample {
		inuse += s.Value[3]
	}
	snap, comm, version := h.Snapshot, t.Process.Comm, t.Binary.GoVersion
	stderr := cmd.ErrOrStderr()
	fmt.Fprintf(stderr, "memsight: heap profile of pid %d (%s, %s) written to %s: %d allocation sites, %s in use as of the last GC (sampled every %s)\n",
		pid, comm, version, o.out, len(snap.Records), term.HumanBytes(uint64(inuse)), term.HumanBytes(uint64(snap.Rate)))
	if snap.Truncated {
		fmt.Fprintf(stderr, "memsight: warning: stopped after %d allocation sites (--max-buckets): the profile is incomplete\n", len(snap.Records))
	}
	if snap.Moving {
		fmt.Fprintln(stderr, "memsight: warning: the process completed GC cycles while the profile was read: some sites may be one cycle ahead")
	}
	return nil
}

func writeProfile(cmd *cobra.Command, path string, write func(io.Writer) error) error {
	if path == "-" {
		return write(cmd.OutOrStdout())
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return f.Close()
}
