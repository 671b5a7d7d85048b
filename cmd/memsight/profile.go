package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/memsight/memsight/pkg/export/term"
	"github.com/memsight/memsight/pkg/goexe"
	"github.com/memsight/memsight/pkg/heapprof"
	"github.com/memsight/memsight/pkg/process"
	"github.com/memsight/memsight/pkg/procmem"
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

func runProfile(cmd *cobra.Command, g *globalOptions, o *profileOptions, pid int) error {
	procs, err := process.New(process.Config{ProcRoot: g.procRoot})
	if err != nil {
		return err
	}
	proc, err := procs.Get(pid)
	if err != nil {
		if errors.Is(err, process.ErrNoProcess) {
			return fmt.Errorf("no process with pid %d", pid)
		}
		return err
	}
	cache := goexe.NewCache(1)
	defer cache.Close()
	b, err := cache.ForPID(pid, g.procRoot)
	if err != nil {
		return inspectErr(pid, proc.Comm, err)
	}
	maps, err := procs.ExeMappings(pid)
	if err != nil {
		return fmt.Errorf("reading mappings of pid %d: %w", pid, err)
	}
	bias, err := exeLoadBias(b, maps)
	if err != nil {
		return fmt.Errorf("pid %d: %w", pid, err)
	}
	mem, err := procmem.OpenWith(pid, procmem.Options{ProcRoot: g.procRoot})
	if err != nil {
		return fmt.Errorf("opening memory of pid %d: %w", pid, err)
	}
	defer mem.Close()
	snap, err := heapprof.Read(b, mem, bias, heapprof.Options{MaxBuckets: o.maxBuckets})
	var nr *heapprof.NotRecordedError
	switch {
	case errors.As(err, &nr):
		return fmt.Errorf("pid %d does not record a heap profile (%s)", pid, nr.Reason)
	case err != nil:
		return fmt.Errorf("reading the heap profile of pid %d (%s, %s): %w", pid, proc.Comm, b.GoVersion, err)
	}
	prof := snap.Profile(b, bias, exeMappings(b, maps))
	if err := writeProfile(cmd, o.out, prof.Write); err != nil {
		return err
	}
	var inuse int64
	for _, s := range prof.Sample {
		inuse += s.Value[3]
	}
	stderr := cmd.ErrOrStderr()
	fmt.Fprintf(stderr, "memsight: heap profile of pid %d (%s, %s) written to %s: %d allocation sites, %s in use as of the last GC (sampled every %s)\n",
		pid, proc.Comm, b.GoVersion, o.out, len(snap.Records), term.HumanBytes(uint64(inuse)), term.HumanBytes(uint64(snap.Rate)))
	if snap.Truncated {
		fmt.Fprintf(stderr, "memsight: warning: stopped after %d allocation sites (--max-buckets): the profile is incomplete\n", len(snap.Records))
	}
	if snap.Moving {
		fmt.Fprintln(stderr, "memsight: warning: the process completed GC cycles while the profile was read: some sites may be one cycle ahead")
	}
	return nil
}

// exeLoadBias computes the load bias of a PIE from its first PT_LOAD.
func exeLoadBias(b *goexe.Binary, maps []process.Mapping) (uint64, error) {
	if !b.PIE {
		return 0, nil
	}
	if len(b.Segments) > 0 {
		if bias, ok := process.LoadBias(maps, b.Segments[0].Vaddr, b.Segments[0].Off); ok {
			return bias, nil
		}
	}
	return 0, errors.New("no mapping of its executable at file offset 0 (cannot compute the load bias)")
}

// exeMappings returns the executable mappings of the main executable.
func exeMappings(b *goexe.Binary, maps []process.Mapping) []heapprof.Mapping {
	id := heapprof.BuildID(b)
	var out []heapprof.Mapping
	for _, m := range maps {
		if strings.Contains(m.Perms, "x") {
			out = append(out, heapprof.Mapping{Start: m.Start, Limit: m.End, Offset: m.Offset, File: m.Path, BuildID: id})
		}
	}
	return out
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

// inspectErr explains why the executable of a process could not be used.
func inspectErr(pid int, comm string, err error) error {
	switch {
	case errors.Is(err, goexe.ErrNotGo):
		return fmt.Errorf("pid %d (%s) is not a Go process", pid, comm)
	case errors.Is(err, os.ErrPermission):
		return fmt.Errorf("opening the executable of pid %d (%s): %w: run as root or grant CAP_SYS_PTRACE", pid, comm, err)
	case errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("no process with pid %d", pid)
	}
	return fmt.Errorf("inspecting pid %d (%s): %w", pid, comm, err)
}
