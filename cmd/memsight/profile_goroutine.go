package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/memsight/memsight/pkg/profiles"
)

// runGoroutineProfile writes the goroutine profile of pid (profile --type
// goroutine).
func runGoroutineProfile(cmd *cobra.Command, g *globalOptions, o *profileOptions, pid int) error {
	t, done, err := profileTarget(g, pid)
	if err != nil {
		return err
	}
	defer done()
	comm, version := t.Process.Comm, t.Binary.GoVersion
	t.Comments = []string{fmt.Sprintf("pid=%d", pid), "comm=" + comm, "go_version=" + version}
	gp, err := profiles.Goroutine(t, profiles.Options{})
	if err != nil {
		return err
	}
	if err := writeProfile(cmd, o.out, gp.Profile.Write); err != nil {
		return err
	}
	c := gp.Census
	fmt.Fprintf(cmd.ErrOrStderr(), "memsight: goroutine profile of pid %d (%s, %s) written to %s: %d goroutines on %d distinct stacks\n",
		pid, comm, version, o.out, c.Counted, len(c.Stacks))
	return nil
}
