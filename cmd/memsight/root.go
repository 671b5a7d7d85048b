package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"

	"github.com/spf13/cobra"

	"github.com/memsight/memsight/pkg/process"
)

// globalOptions are the flags every subcommand shares.
type globalOptions struct {
	procRoot  string
	logLevel  string
	logFormat string
}

func (g *globalOptions) logger() *slog.Logger {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(g.logLevel)); err != nil {
		lvl = slog.LevelInfo
	}
	opts := &slog.HandlerOptions{Level: lvl}
	if g.logFormat == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}

// procs reads the procfs at --path.procfs: every command reaches processes
// through it (pkg/target).
func (g *globalOptions) procs() (*process.Reader, error) {
	p, err := process.New(process.Config{ProcRoot: g.procRoot})
	if err != nil {
		return nil, fmt.Errorf("--path.procfs: %w", err)
	}
	return p, nil
}

func newRootCmd(version buildVersion) *cobra.Command {
	g := &globalOptions{}
	root := &cobra.Command{
		Use:   "memsight",
		Short: "eBPF memory profiler for Go processes: finalizer stalls, heap vs RSS, goroutine leaks",
		Long: `memsight finds out, from outside and without restarting anything, why a Go
process's memory grows: a stuck finalizer goroutine, goroutines piling up, heap
growth, or memory outside the Go heap. It attaches uprobes to the Go runtime and
reads runtime state from the process's memory (read only).`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version.Version,
	}
	root.PersistentFlags().StringVar(&g.procRoot, "path.procfs", "/proc", "procfs mount point (the host's /proc when running in a container)")
	root.PersistentFlags().StringVar(&g.logLevel, "log-level", "info", "log level: debug, info, warn, error")
	root.PersistentFlags().StringVar(&g.logFormat, "log-format", "text", "log format: text or json (one JSON object a line)")
	root.AddCommand(
		newVersionCmd(version),
		newPsCmd(g),
		newAttachCmd(g),
		newProfileCmd(g),
		newGoroutinesCmd(g),
		newAgentCmd(g),
		newTopCmd(g),
		newCheckCmd(g),
	)
	return root
}

// usageError marks errors caused by bad flags or arguments (exit code 2).
type usageError struct{ err error }

func (u usageError) Error() string { return u.err.Error() }
func (u usageError) Unwrap() error { return u.err }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// explained is an error with a message of its own over the error it
// explains, which stays in the chain.
type explained struct {
	msg string
	err error
}

func (e explained) Error() string { return e.msg }
func (e explained) Unwrap() error { return e.err }

// explain words err as format says, keeping err in the chain.
func explain(err error, format string, a ...any) error {
	return explained{fmt.Sprintf(format, a...), err}
}

func exitCode(err error) int {
	var u usageError
	if errors.As(err, &u) {
		return 2
	}
	return 1
}
