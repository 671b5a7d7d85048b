package leak

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/memsight/memsight/pkg/model"
	"github.com/memsight/memsight/pkg/testutil"
)

// TestHealthyServer: a net/http server under keep-alive load, with idle
// workers and waiters parked on reachable channels and sync primitives
// (testdata/targets/leakserve), has no leak — for both toolchains, with
// DWARF, stripped (layout table and decoded globals) and PIE; also cgo and
// trimpath with MEMSIGHT_LEAK_CORPUS=all.
func TestHealthyServer(t *testing.T) {
	modes := []testutil.Mode{testutil.Default, testutil.Stripped, testutil.PIE}
	if os.Getenv("MEMSIGHT_LEAK_CORPUS") == "all" {
		modes = testutil.AllModes // cgo (external linking) and trimpath too
	}
	for _, v := range testutil.Matrix(modes...) {
		t.Run(v.String(), func(t *testing.T) {
			exe := testutil.BuildTarget(t, "leakserve", v)
			p := startProc(t, exe, nil)
			if _, _, err := p.waitLine("READY", 0, 30*time.Second); err != nil {
				t.Fatal(err)
			}
			m := openMarker(t, p.pid, exe, Config{})
			rep := scan(t, m)
			for _, l := range rep.Leaks {
				t.Errorf("healthy server: %d goroutines reported leaked in %s [%s], created at %s", l.Count, l.Function, l.WaitReason, l.CreationSite)
			}
			if rep.Blocked < 40 {
				t.Errorf("only %d of %d goroutines blocked on a primitive: the target did not park its waiters", rep.Blocked, rep.Goroutines)
			}
			t.Logf("%d goroutines, %d blocked; %d marks, %.3fs, %d KiB read in %d reads, %d objects (%d KiB) marked; conservative %q",
				rep.Goroutines, rep.Blocked, rep.Mark.Marks, rep.Mark.Seconds, rep.Mark.BytesRead>>10, rep.Mark.Reads,
				rep.Mark.ObjectsMarked, rep.Mark.BytesMarked>>10, rep.Mark.Conservative)
		})
	}
}

// TestServerLeaks: the same server with -leak 5 reports exactly its leaks:
// five goroutines blocked in a receive, five in a send, and the mutex
// waiters whose mutex does not share a 16-byte block with a live object
// (the runtime's tiny allocator packs 8-byte mutexes in pairs).
func TestServerLeaks(t *testing.T) {
	v := testutil.Variant{Toolchain: testutil.GoNext, Mode: testutil.Default}
	exe := testutil.BuildTarget(t, "leakserve", v)
	p := startProc(t, exe, nil, "-leak", "5")
	if _, _, err := p.waitLine("READY", 0, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	m := openMarker(t, p.pid, exe, Config{})
	rep := scan(t, m)
	byFunc := map[string]model.Leak{}
	for _, l := range rep.Leaks {
		byFunc[l.Function] = l
		if !strings.Contains(l.Function, "leakSome") {
			t.Errorf("reported leaked: %d in %s [%s], not a leak of leakSome", l.Count, l.Function, l.WaitReason)
		}
		if len(l.Stack) == 0 || l.CreationSite == "" || l.OldestWaitSeconds == nil && l.WaitReason == "" {
			t.Errorf("incomplete leak record %+v", l)
		}
		t.Logf("%d × %s [%s] created at %s, pinned %d bytes, oldest %v", l.Count, l.Function, l.WaitReason, l.CreationSite, l.BytesPinnedEstimate, l.OldestWaitSeconds)
	}
	for fn, want := range map[string]string{"main.leakSome.func1": "chan receive", "main.leakSome.func2": "chan send"} {
		l, ok := byFunc[fn]
		if !ok || l.Count != 5 || l.WaitReason != want {
			t.Errorf("%s: %+v, want 5 goroutines in %s", fn, l, want)
		}
		if l.BytesPinnedEstimate < 5*2048 {
			t.Errorf("%s: %d bytes pinned, want at least their five stacks", fn, l.BytesPinnedEstimate)
		}
	}
	if l := byFunc["main.leakSome.func3.1"]; l.Count < 1 || l.Count > 5 || l.WaitReason != "sync.Mutex.Lock" {
		t.Errorf("mutex leaks: %+v, want 1 to 5 in sync.Mutex.Lock", l)
	}
}

// caddyPath is the Caddy binary TestHealthyCaddy runs: $MEMSIGHT_CADDY, or
// /tmp/tp/bin/caddy (caddy v2.11.9 built from the module proxy).
func caddyPath() string {
	if p := os.Getenv("MEMSIGHT_CADDY"); p != "" {
		return p
	}
	return "/tmp/tp/bin/caddy"
}

// TestHealthyCaddy: a real third-party server (Caddy) serving keep-alive
// clients while it is read has no leak.
func TestHealthyCaddy(t *testing.T) {
	caddy := caddyPath()
	if _, err := os.Stat(caddy); err != nil {
		t.Skipf("no Caddy binary at %s (set MEMSIGHT_CADDY to a caddy v2 built with Go 1.26/1.27): %v", caddy, err)
	}
	rep, n := runCaddy(t, caddy, 64)
	for _, l := range rep.Leaks {
		t.Errorf("caddy: %d goroutines reported leaked in %s [%s], created at %s", l.Count, l.Function, l.WaitReason, l.CreationSite)
	}
	t.Logf("caddy under load (%d requests during the scan): %d goroutines, %d blocked; %d marks, %.3fs, %d KiB read in %d reads, %d objects (%d KiB) marked; conservative %q",
		n, rep.Goroutines, rep.Blocked, rep.Mark.Marks, rep.Mark.Seconds, rep.Mark.BytesRead>>10, rep.Mark.Reads,
		rep.Mark.ObjectsMarked, rep.Mark.BytesMarked>>10, rep.Mark.Conservative)
}

// runCaddy starts caddy responding on a local port, keeps clients
// keep-alive connections busy while memsight scans it, and returns the
// report and the requests served meanwhile.
func runCaddy(t testing.TB, caddy string, clients int) (*model.LeakReport, int64) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	dir := t.TempDir()
	conf := fmt.Sprintf("{\n\tadmin off\n\tauto_https off\n}\nhttp://%s {\n\trespond \"hello\" 200\n}\n", addr)
	if err := os.WriteFile(filepath.Join(dir, "Caddyfile"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(caddy, "run", "--config", filepath.Join(dir, "Caddyfile"), "--adapter", "caddyfile")
	cmd.Env = append(os.Environ(), "HOME="+dir, "XDG_DATA_HOME="+dir, "XDG_CONFIG_HOME="+dir)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	url := "http://" + addr + "/"
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("caddy did not answer on %s: %v", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	var served atomic.Int64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	tr := &http.Transport{MaxIdleConnsPerHost: clients, MaxConnsPerHost: clients}
	defer tr.CloseIdleConnections()
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &http.Client{Transport: tr}
			for {
				select {
				case <-stop:
					return
				default:
				}
				if resp, err := c.Get(url); err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					served.Add(1)
				}
			}
		}()
	}
	time.Sleep(300 * time.Millisecond)
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	before := served.Load()
	m := openMarker(t, cmd.Process.Pid, exe, Config{})
	rep := scan(t, m)
	n := served.Load() - before
	close(stop)
	wg.Wait()
	return rep.LeakReport, n
}

// TestLeakingTarget: goroutines blocked on a channel a running goroutine
// still holds are not leaked, however fast they pile up; once that
// goroutine returns, they all are. testdata/targets/goleak parks thousands
// of goroutines per second on `never`, which its leak loop holds until
// SIGUSR1 stops it.
func TestLeakingTarget(t *testing.T) {
	v := testutil.Variant{Toolchain: testutil.GoNext, Mode: testutil.Default}
	tg := testutil.StartTarget(t, testutil.BuildTarget(t, "goleak", v), "-rate", "5000")
	tg.WaitLine(t, "READY", 20*time.Second)
	m := openMarker(t, tg.Pid, tg.Cmd.Path, Config{})
	countLeak := func(rep *model.LeakReport) (site, other int) {
		for _, l := range rep.Leaks {
			if l.Function == "main.handler.func1" {
				site += l.Count
			} else {
				other += l.Count
			}
		}
		return site, other
	}
	for i := range 3 {
		rep := scan(t, m)
		site, other := countLeak(rep.LeakReport)
		t.Logf("while leaking: %d goroutines, %d blocked; reported %d at the LEAK site, %d elsewhere", rep.Goroutines, rep.Blocked, site, other)
		if site != 0 {
			t.Errorf("scan %d: %d goroutines reported leaked while the leak loop still holds their channel", i, site)
		}
	}
	if err := tg.Signal(syscall.SIGUSR1); err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(tg.WaitLine(t, "STEADY leaked=", 20*time.Second))
	rep := scan(t, m)
	site, _ := countLeak(rep.LeakReport)
	t.Logf("after the loop returned: %d leaked by the target, %d reported", n, site)
	if site != n {
		t.Errorf("%d reported leaked at the LEAK site, the target leaked %d", site, n)
	}
}
