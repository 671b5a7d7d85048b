package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/memsight/memsight/pkg/export/term"
	"github.com/memsight/memsight/pkg/goexe"
	"github.com/memsight/memsight/pkg/model"
	"github.com/memsight/memsight/pkg/observe"
	"github.com/memsight/memsight/pkg/process"
)

func newPsCmd(g *globalOptions) *cobra.Command {
	var output string
	cmd := &cobra.Command{
		Use:   "ps",
		Short: "List the Go processes on this machine and whether memsight can attach to them",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(output); err != nil {
				return err
			}
			procs, err := g.procs()
			if err != nil {
				return err
			}
			res, err := observe.Inventory(cmd.Context(), procs, goexe.NewCache(256), os.Getpid())
			if err != nil {
				return err
			}
			if res.Denied > 0 {
				// Root without CAP_SYS_PTRACE over some processes (PID 1 in a
				// sandbox, say) is normal; only a missing capability is news.
				missing, _ := process.MissingCapabilities(g.procRoot, "CAP_SYS_PTRACE")
				if len(missing) > 0 {
					msg := fmt.Sprintf("%d processes could not be inspected (permission denied; pid %d, for one: %s)",
						res.Denied, res.DeniedPID, procs.Denied(res.DeniedPID, process.ReadAccess))
					if len(res.Processes) == 0 {
						return fmt.Errorf("%s; no Go process visible", msg)
					}
					fmt.Fprintln(cmd.ErrOrStderr(), "memsight ps: warning: "+msg)
				}
			}
			if output == "json" {
				if res.Processes == nil {
					res.Processes = []model.GoProcess{}
				}
				return writeJSON(cmd.OutOrStdout(), res.Processes)
			}
			return term.RenderProcesses(cmd.OutOrStdout(), res.Processes)
		},
	}
	outputFlag(cmd, &output)
	return cmd
}
