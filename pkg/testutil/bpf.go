package testutil

import (
	"os"
	"testing"
)

// RequireBPF is the only place a BPF test may be skipped: when the
// environment sets MEMSIGHT_SKIP_BPF=1 (machines without the privileges to
// load BPF). Without it, a test that cannot load BPF must fail, not skip.
func RequireBPF(tb testing.TB) {
	tb.Helper()
	if os.Getenv("MEMSIGHT_SKIP_BPF") == "1" {
		tb.Skip("MEMSIGHT_SKIP_BPF=1: BPF tests skipped on request")
	}
}
