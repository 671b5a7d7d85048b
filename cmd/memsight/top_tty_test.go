package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/memsight/memsight/pkg/testutil"
)

// openPTY returns a pseudo-terminal's master and slave, 100×24.
func openPTY(t *testing.T) (*os.File, *os.File) {
	t.Helper()
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { master.Close() })
	if err := unix.IoctlSetPointerInt(int(master.Fd()), unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlocking the pty: %v", err)
	}
	n, err := unix.IoctlGetInt(int(master.Fd()), unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("pty number: %v", err)
	}
	slave, err := os.OpenFile("/dev/pts/"+strconv.Itoa(n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { slave.Close() })
	if err := unix.IoctlSetWinsize(int(slave.Fd()), unix.TIOCSWINSZ, &unix.Winsize{Row: 24, Col: 100}); err != nil {
		t.Fatal(err)
	}
	return master, slave
}

// ttyOutput collects what a program writes to the pty.
type ttyOutput struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (o *ttyOutput) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

func (o *ttyOutput) waitFor(t *testing.T, what string, ok func(string) bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !ok(o.String()) {
		if time.Now().After(deadline) {
			t.Fatalf("no %s on the terminal; output:\n%q", what, o.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ttyTop is memsight top running on a pseudo-terminal.
type ttyTop struct {
	master, slave *os.File
	out           *ttyOutput
	cmd           *exec.Cmd
	done          chan error
	before        *unix.Termios // the terminal's settings before top
}

func startTTYTop(t *testing.T, args ...string) *ttyTop {
	t.Helper()
	master, slave := openPTY(t)
	before, err := unix.IoctlGetTermios(int(slave.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(memsightBin, append([]string{"top"}, args...)...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = slave, slave, slave
	out := &ttyOutput{}
	go func() {
		b := make([]byte, 4096)
		for {
			n, err := master.Read(b)
			out.mu.Lock()
			out.buf.Write(b[:n])
			out.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	return &ttyTop{master: master, slave: slave, out: out, cmd: cmd, done: done, before: before}
}

// TestTopTerminal: on a terminal top redraws in place on the alternate
// screen, re-sorts on a key, and on q or SIGTERM exits 0 with the terminal
// as it found it (main screen, cursor, line mode and echo).
func TestTopTerminal(t *testing.T) {
	testutil.RequireBPF(t)
	t.Parallel()
	exe := copyTarget(t, "idle", testutil.Variant{Toolchain: testutil.GoInstalled, Mode: testutil.Default}, "toptty-idle")
	tg := testutil.StartTarget(t, exe)
	row := fmt.Sprintf("%d  toptty-idle", tg.Pid)
	for _, quit := range []string{"q", "SIGTERM"} {
		t.Run(quit, func(t *testing.T) {
			tt := startTTYTop(t, "--interval", "300ms", "--include-comm", "^toptty-idle$")
			master, slave, out, cmd, done, before := tt.master, tt.slave, tt.out, tt.cmd, tt.done, tt.before
			out.waitFor(t, "three frames with the target's row", func(s string) bool {
				return strings.Count(s, ansiHome) >= 3 && strings.Contains(s, row)
			})
			if now, _ := unix.IoctlGetTermios(int(slave.Fd()), unix.TCGETS); now.Lflag&(unix.ICANON|unix.ECHO) != 0 {
				t.Errorf("line mode or echo still on while top runs: lflag %#x", now.Lflag)
			}
			if _, err := master.Write([]byte("p")); err != nil {
				t.Fatal(err)
			}
			out.waitFor(t, "the frame re-sorted by pid", func(s string) bool { return strings.Contains(s, "sorted by pid") })
			var err error
			if quit == "q" {
				_, err = master.Write([]byte("q"))
			} else {
				err = cmd.Process.Signal(syscall.SIGTERM)
			}
			if err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("top after %s: %v; output:\n%q", quit, err, out.String())
				}
			case <-time.After(15 * time.Second):
				t.Fatalf("top did not exit within 15s of %s", quit)
			}
			out.waitFor(t, "the terminal given back", func(s string) bool { return strings.HasSuffix(s, ansiMainScreen) })
			s := out.String()
			if !strings.HasPrefix(s, ansiAltScreen) {
				t.Errorf("top did not start on the alternate screen: %q", s[:min(len(s), 80)])
			}
			after, err := unix.IoctlGetTermios(int(slave.Fd()), unix.TCGETS)
			if err != nil {
				t.Fatal(err)
			}
			if after.Lflag != before.Lflag {
				t.Errorf("terminal not restored: lflag %#x, was %#x", after.Lflag, before.Lflag)
			}
			for _, l := range strings.FieldsFunc(strings.ReplaceAll(s, ansiHome, "\n"), func(r rune) bool { return r == '\n' || r == '\r' }) {
				if plain := stripANSI(l); len([]rune(plain)) > 100 {
					t.Errorf("line wider than the terminal (%d): %q", len([]rune(plain)), plain)
				}
			}
		})
	}
}

// stripANSI removes the CSI sequences top writes.
func stripANSI(s string) string {
	for _, seq := range []string{ansiAltScreen, ansiMainScreen, ansiHome, ansiClearEOL, ansiClearBelow} {
		s = strings.ReplaceAll(s, seq, "")
	}
	return s
}

// TestTopTerminalAgentGone: when the agent top --from reads goes away, the
// live view keeps the last frame, says why at the bottom, and q still quits.
func TestTopTerminalAgentGone(t *testing.T) {
	testutil.RequireBPF(t)
	t.Parallel()
	exe := copyTarget(t, "idle", testutil.Variant{Toolchain: testutil.GoInstalled, Mode: testutil.Default}, "topgone-idle")
	a := startAgent(t, "--include-comm", "^topgone-", "--interval", "300ms")
	tg := testutil.StartTarget(t, exe)
	a.waitFor(t, 5*time.Second, "the target watched", func() bool { return pidSeries(a.scrape(t), tg.Pid) > 0 })
	tt := startTTYTop(t, "--from", a.addr, "--interval", "300ms")
	row := fmt.Sprintf("%d  topgone-idle", tg.Pid)
	tt.out.waitFor(t, "the target's row", func(s string) bool { return strings.Contains(s, row) })
	_ = a.cmd.Process.Kill()
	<-a.done
	tt.out.waitFor(t, "the failed refresh", func(s string) bool {
		i := strings.LastIndex(s, ansiHome)
		return i >= 0 && strings.Contains(s[i:], "refresh failed, showing the previous frame: agent at http://"+a.addr+" unreachable") &&
			strings.Contains(s[i:], row)
	})
	if _, err := tt.master.Write([]byte("q")); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-tt.done:
		if err != nil {
			t.Fatalf("top: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("top did not exit within 10s of q")
	}
	tt.out.waitFor(t, "the terminal given back", func(s string) bool { return strings.HasSuffix(s, ansiMainScreen) })
}
