package main

import (
	"fmt"
	"log/slog"
	"strings"

	"github.com/spf13/cobra"

	"github.com/memsight/memsight/pkg/export/term"
	"github.com/memsight/memsight/pkg/preflight"
)

type checkOptions struct {
	output  string
	sysRoot string
}

func newCheckCmd(g *globalOptions) *cobra.Command {
	o := &checkOptions{}
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Check that this machine and process can run memsight (kernel, uprobes, capabilities, PID namespace)",
		Long: `check runs the agent's startup checks and prints one line per check: the
kernel release, kernel BTF, uprobe support (the uprobe perf PMU and
uprobe_multi links), perf_event_paranoid, this process's capabilities and
whether it sees the host's processes. A check is ok, warn (memsight runs with
the limitation named) or fail (it cannot work until fixed); check exits 1 if
any fails. In Kubernetes: kubectl exec -n memsight ds/memsight -- memsight check`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(o.output); err != nil {
				return err
			}
			results := preflight.Run(preflightConfig(g, o.sysRoot))
			if o.output == "json" {
				if err := writeJSON(cmd.OutOrStdout(), results); err != nil {
					return err
				}
			} else {
				tw := term.NewTable(cmd.OutOrStdout(), "CHECK", "STATUS", "MESSAGE")
				for _, r := range results {
					fmt.Fprintf(tw, "%s\t%s\t%s\n", r.Name, r.Status, r.Message)
				}
				if err := tw.Flush(); err != nil {
					return err
				}
			}
			if failed := preflight.Failed(results); len(failed) > 0 {
				return fmt.Errorf("%d of %d checks failed: %s", len(failed), len(results), checkNames(failed))
			}
			return nil
		},
	}
	outputFlag(cmd, &o.output)
	cmd.Flags().StringVar(&o.sysRoot, "path.sysfs", "/sys", "sysfs mount point")
	return cmd
}

// preflightConfig is the checks' configuration for this memsight: its BPF
// objects need no kernel BTF (pkg/preflight tests that) and it attaches with
// uprobe_multi links where the kernel has them.
func preflightConfig(g *globalOptions, sysRoot string) preflight.Config {
	return preflight.Config{ProcRoot: g.procRoot, SysRoot: sysRoot}
}

// preflightGate runs the startup checks, logs one line per check that is not
// ok, and returns an error naming every failed check (memsight cannot work
// until they are fixed).
func preflightGate(g *globalOptions, log *slog.Logger) error {
	results := preflight.Run(preflightConfig(g, ""))
	for _, r := range results {
		switch r.Status {
		case preflight.Warn:
			log.Warn("startup check", "check", r.Name, "message", r.Message)
		case preflight.Fail:
			log.Error("startup check", "check", r.Name, "message", r.Message)
		}
	}
	failed := preflight.Failed(results)
	if len(failed) == 0 {
		return nil
	}
	return fmt.Errorf("startup checks failed: %s (memsight check lists every check)", failedChecks(failed))
}

// failedChecks lists failed checks with their messages.
func failedChecks(failed []preflight.Result) string {
	msgs := make([]string, len(failed))
	for i, r := range failed {
		msgs[i] = r.Name + ": " + r.Message
	}
	return strings.Join(msgs, "; ")
}

func checkNames(rs []preflight.Result) string {
	names := make([]string, len(rs))
	for i, r := range rs {
		names[i] = r.Name
	}
	return strings.Join(names, ", ")
}
