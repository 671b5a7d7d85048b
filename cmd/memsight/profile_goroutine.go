package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/memsight/memsight/pkg/goexe"
	"github.com/memsight/memsight/pkg/process"
	"github.com/memsight/memsight/pkg/profiles"
)

// runGoroutineProfile writes the goroutine profile of pid (profile --type
// goroutine).
func runGoroutineProfile(cmd *cobra.Command, g *globalOptions, o *profileOptions, pid int) error {
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
	gp, err := profiles.Goroutine(profiles.Target{PID: pid, ProcRoot: g.procRoot, Procs: procs, Binary: b,
		Comments: []string{fmt.Sprintf("pid=%d", pid), "comm=" + proc.Comm, "go_version=" + b.GoVersion}}, profiles.Options{})
	if err != nil {
		return fmt.Errorf("reading the goroutine profile of pid %d (%s, %s): %w", pid, proc.Comm, b.GoVersion, err)
	}
	if err := writeProfile(cmd, o.out, gp.Profile.Write); err != nil {
		return err
	}
	c := gp.Census
	fmt.Fprintf(cmd.ErrOrStderr(), "memsight: goroutine profile of pid %d (%s, %s) written to %s: %d goroutines on %d distinct stacks\n",
		pid, proc.Comm, b.GoVersion, o.out, c.Counted, len(c.Stacks))
	return nil
}
