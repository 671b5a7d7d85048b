package testutil

import (
	"context"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

// RequireBrowser returns the path of the Chromium executable. It is the
// only place a browser test may be skipped: when the environment sets
// MEMSIGHT_SKIP_BROWSER=1. Without it, a missing Chromium fails the test.
func RequireBrowser(tb testing.TB) string {
	tb.Helper()
	if os.Getenv("MEMSIGHT_SKIP_BROWSER") == "1" {
		tb.Skip("MEMSIGHT_SKIP_BROWSER=1: browser tests skipped on request")
	}
	// The names Chromium is installed under (Debian: chromium).
	chromiumNames := []string{"chromium", "chromium-browser", "google-chrome-stable", "google-chrome"}
	for _, name := range chromiumNames {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	tb.Fatalf("no Chromium in PATH (looked for %v): install it (Debian: apt-get install -y chromium chromium-driver) or set MEMSIGHT_SKIP_BROWSER=1", chromiumNames)
	return ""
}

// DumpDOM loads url in headless Chromium, lets the page run for budget of
// virtual time (its fetches and timers included), and returns the DOM as
// HTML. It fails the test when Chromium fails or takes a minute.
func DumpDOM(tb testing.TB, url string, budget time.Duration) string {
	tb.Helper()
	bin := RequireBrowser(tb)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu",
		"--disable-extensions", "--no-first-run", "--user-data-dir="+tb.TempDir(),
		"--virtual-time-budget="+strconv.FormatInt(budget.Milliseconds(), 10), "--dump-dom", url)
	var stderr limitedBuffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		tb.Fatalf("%s --dump-dom %s: %v\n%s", bin, url, err, stderr.b)
	}
	return string(out)
}

// limitedBuffer keeps the first 64 KiB written to it.
type limitedBuffer struct{ b []byte }

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := 64<<10 - len(l.b); room > 0 {
		l.b = append(l.b, p[:min(room, len(p))]...)
	}
	return len(p), nil
}
