// Command memsight is an eBPF-backed memory profiler for Go processes: `memsight
// agent` watches every Go process of a node, `memsight attach PID` diagnoses one.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

// version and revision are set at link time by make and the Dockerfile
// (-X main.version=v… from the VERSION file, -X main.revision=<commit>);
// left empty, `memsight version` reports what the go command recorded in
// the build info.
var version, revision string

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRootCmd(readBuildVersion(version, revision)).ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "memsight: %v\n", err)
		os.Exit(exitCode(err))
	}
}
