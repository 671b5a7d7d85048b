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

// version is set at link time (-X main.version=v…, make build and make
// release, from the VERSION file); left empty, `memsight version` reports
// the version the go command recorded in the build info.
var version string

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRootCmd(readBuildVersion(version)).ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "memsight: %v\n", err)
		os.Exit(exitCode(err))
	}
}
