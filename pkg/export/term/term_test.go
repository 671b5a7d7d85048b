package term

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/memsight/memsight/pkg/model"
)

var t0 = time.Date(2026, 11, 26, 16, 10, 31, 0, time.Local)

const mib = 1 << 20

// proc is a watched process with a sample.
func proc(pid int, comm string, rss, heap uint64, gor int, finq int64) model.Process {
	q := finq
	return model.Process{PID: pid, Comm: comm, GoVersion: "go1.26.8", State: model.StateWatching, Sample: &model.Sample{
		Time: t0, PID: pid, RSSBytes: rss, Heap: &model.Heap{InuseBytes: heap},
		Goroutines: &model.Goroutines{Total: gor}, Finalizers: model.Finalizers{QueueLength: &q},
	}}
}

// stalled adds a running finalizer and its finalizer_stall finding to p,
// with the evidence as it arrives from the API (decoded JSON).
func stalled(t *testing.T, p model.Process, fn string, stack ...string) model.Process {
	t.Helper()
	p.Sample.Finalizers.Running = &model.Running{Function: fn, Seconds: 11.7, State: "blocked", Stack: stack}
	f := model.Finding{Kind: model.KindFinalizerStall, Severity: model.SeverityWarning, Since: t0.Add(-6 * time.Second),
		Summary:  "finalizer " + fn + " has been blocked for 11.7 s in net.(*netFD).Read; queue 1997",
		Evidence: map[string]any{"function": fn, "stack": stack}}
	b, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	var decoded model.Finding
	if err := json.Unmarshal(b, &decoded); err != nil {
		t.Fatal(err)
	}
	p.Sample.Findings = append(p.Sample.Findings, decoded)
	return p
}

var leakyStack = []string{
	"runtime.gopark /usr/local/go/src/runtime/proc.go:462",
	"runtime.netpollblock /usr/local/go/src/runtime/netpoll.go:575",
	"internal/poll.runtime_pollWait /usr/local/go/src/runtime/netpoll.go:351",
	"internal/poll.(*pollDesc).wait /usr/local/go/src/internal/poll/fd_poll_runtime.go:84",
	"internal/poll.(*FD).Read /usr/local/go/src/internal/poll/fd_unix.go:165",
	"net.(*conn).Read /usr/local/go/src/net/net.go:196",
	"main.(*Conn).Close /src/leakyservice/main.go:34",
	"runtime.call16 /usr/local/go/src/runtime/asm_amd64.s:835",
	"runtime.runFinalizers /usr/local/go/src/runtime/mfinal.go:272",
	"runtime.goexit /usr/local/go/src/runtime/asm_amd64.s:1771",
}

func node(t *testing.T) View {
	leaky := stalled(t, proc(7730, "leakyservice", 100*mib, 90*mib, 2477, 1997), "main.(*Conn).Close", leakyStack...)
	return View{Time: t0, Source: "node vm-1", Processes: []model.Process{
		proc(3115, "api", 15*mib, 9*mib, 40, 0),
		leaky,
		proc(31951, "worker", 300*mib, 12*mib, 8000, 3),
		{PID: 4001, Comm: "old", GoVersion: "go1.19", State: model.StateUnsupported, Reason: "Go 1.19 is older than 1.20"},
	}}
}

// TestFrame: the whole frame of a small node, unbounded (a pipe).
func TestTopFrame(t *testing.T) {
	got := strings.Join(Lines(node(t), Options{Interval: 2 * time.Second}), "\n")
	want := `memsight top  node vm-1  16:10:31  every 2s  sorted by rss
Go processes 4: 1 unsupported, 3 watching   RSS 415M   findings 1: 1 warning

  PID  COMM          GO        RSS  RSS/h   HEAP   GOR  FINQ  FIN-RUN  FINDINGS
31951  worker        1.26.8   300M      -  12.0M  8000     3        -  -
 7730  leakyservice  1.26.8   100M      -  90.0M  2477  1997    11.7s  finalizer_stall
 3115  api           1.26.8  15.0M      -   9.0M    40     0        -  -
 4001  old           1.19        -      -      -     -     -        -  (unsupported: Go 1.19 is older than 1.20)

FINDINGS
  warning   finalizer_stall     7730 leakyservice  finalizer main.(*Conn).Close has been blocked for 11.7 s in net.(*netFD).Read; queue 1997 (since 16:10:25)
              runtime.netpollblock /usr/local/go/src/runtime/netpoll.go:575  (1 runtime frame above)
              internal/poll.runtime_pollWait /usr/local/go/src/runtime/netpoll.go:351
              internal/poll.(*pollDesc).wait /usr/local/go/src/internal/poll/fd_poll_runtime.go:84
              internal/poll.(*FD).Read /usr/local/go/src/internal/poll/fd_unix.go:165
              net.(*conn).Read /usr/local/go/src/net/net.go:196
              main.(*Conn).Close /src/leakyservice/main.go:34`
	if got != want {
		t.Errorf("frame:\n%s\nwant:\n%s", got, want)
	}
}

func TestTopSort(t *testing.T) {
	pids := func(s Sort) []int {
		var out []int
		for _, r := range Rows(node(t), Options{Sort: s}) {
			out = append(out, r.PID)
		}
		return out
	}
	for _, c := range []struct {
		sort Sort
		want []int
	}{
		{SortRSS, []int{31951, 7730, 3115, 4001}},
		{SortHeap, []int{7730, 31951, 3115, 4001}},
		{SortFinQ, []int{7730, 31951, 3115, 4001}},
		{SortGoroutines, []int{31951, 7730, 3115, 4001}},
		{SortPID, []int{3115, 4001, 7730, 31951}},
	} {
		if got := pids(c.sort); !slices.Equal(got, c.want) {
			t.Errorf("sort %s: %v, want %v", c.sort, got, c.want)
		}
	}
	if _, err := ParseSort("mem"); err == nil {
		t.Error("ParseSort(mem) succeeded")
	}
}

// TestWidth: no line is wider than the terminal; columns are dropped in
// order (GO first) and PID, COMM, RSS, FINQ and FINDINGS stay.
func TestTopWidth(t *testing.T) {
	v := node(t)
	v.Processes[0].Namespace, v.Processes[0].Pod = "shop", "api-7d9f8c6b5-x2x4q"
	for _, w := range []int{40, 60, 80, 100, 132, 200} {
		lines := Lines(v, Options{Width: w})
		for _, l := range lines {
			if n := utf8.RuneCountInString(l); n > w {
				t.Errorf("width %d: line of %d: %q", w, n, l)
			}
		}
		head := strings.Fields(lines[3])
		for _, c := range []string{"PID", "COMM", "RSS", "FINQ"} {
			if !slices.Contains(head, c) {
				t.Errorf("width %d: column %s dropped: %q", w, c, lines[3])
			}
		}
		if w >= 132 && !slices.Contains(head, "POD") {
			t.Errorf("width %d: no POD column: %q", w, lines[3])
		}
		if w <= 80 && slices.Contains(head, "GO") {
			t.Errorf("width %d: GO kept, it goes first: %q", w, lines[3])
		}
		if w >= 80 && !strings.Contains(lines[5], "finalizer_stall") {
			t.Errorf("width %d: the findings column is gone: %q", w, lines[5])
		}
		// The summary wraps rather than losing its end.
		if w >= 60 && !strings.Contains(strings.Join(lines, " "), "queue 1997") {
			t.Errorf("width %d: the summary lost its end:\n%s", w, strings.Join(lines, "\n"))
		}
	}
	if l := Lines(v, Options{})[3]; !strings.Contains(l, "POD") || !strings.Contains(Lines(v, Options{Sort: SortPID})[4], "shop/api-7d9f8c6b5-x2x4q") {
		t.Errorf("no pod in %q", l)
	}
}

// TestHeight: a frame fits the screen; hidden rows are counted, and the
// stuck finalizer's finding stays visible.
func TestTopHeight(t *testing.T) {
	v := node(t)
	for i := range 50 {
		v.Processes = append(v.Processes, proc(10000+i, "filler", uint64(i)*mib, mib, 1, 0))
	}
	for _, h := range []int{10, 16, 24, 40} {
		lines := Lines(v, Options{Height: h, Width: 120})
		if len(lines) > h {
			t.Errorf("height %d: %d lines", h, len(lines))
		}
		all := strings.Join(lines, "\n")
		if !strings.Contains(all, "more processes (sorted by rss)") {
			t.Errorf("height %d: hidden rows not summarised:\n%s", h, all)
		}
		if !strings.Contains(all, "finalizer_stall     7730") {
			t.Errorf("height %d: the finding is not shown:\n%s", h, all)
		}
		st := Lines(v, Options{Height: h, Width: 120, Status: "refresh failed: agent \x1b[2J unreachable"})
		if len(st) > h || st[len(st)-1] != `refresh failed: agent \x1b[2J unreachable` {
			t.Errorf("height %d with a status: %d lines, last %q", h, len(st), st[len(st)-1])
		}
	}
}

// TestHostileStrings: escape sequences, control characters, bidi
// overrides and invalid UTF-8 in a comm, a pod, a function name or a stack
// frame are printed as visible escapes, never sent to the terminal.
func TestTopHostileStrings(t *testing.T) {
	evil := "x\x1b]0;pwned\x07\x1b[2J\r\u202egnp.exe\xff"
	p := stalled(t, proc(666, evil, 10*mib, mib, 5, 150), "main."+evil, "main."+evil+" /tmp/\x1b[31mred.go:1")
	p.Namespace, p.Pod = "ns\x1b[1m", "pod\n"
	q := model.Process{PID: 667, Comm: "y\u009b1m", State: model.StateFailed, Reason: "bad\x1b[5m"}
	v := View{Time: t0, Source: "node \x1b[7m", Processes: []model.Process{p, q}}
	out := strings.Join(Lines(v, Options{Width: 400}), "\n") + strings.Join(Lines(v, Options{}), "\n")
	for i, r := range out {
		if r == '\n' {
			continue
		}
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == '\u202e' {
			t.Fatalf("control character %U at %d in:\n%q", r, i, out)
		}
	}
	if !utf8.ValidString(out) {
		t.Fatalf("invalid UTF-8 in:\n%q", out)
	}
	for _, want := range []string{`x\x1b]0;pwne`, `\u202e`, `pod\x0a`, `\x1b[31mred.go`, `y\u009b1m`, `bad\x1b[5m`} {
		if !strings.Contains(out, want) {
			t.Errorf("no %q in:\n%s", want, out)
		}
	}
	if got := Clean("plain ascii"); got != "plain ascii" {
		t.Errorf("Clean changed plain text: %q", got)
	}
	if got := Clean("café ✓"); got != "café ✓" {
		t.Errorf("Clean changed printable UTF-8: %q", got)
	}
}

// TestRSSRate: RSS/h is the detector's fit when it has one, else top's
// own estimate ("~") once it has watched the process for minRateSpan.
func TestTopRSSRate(t *testing.T) {
	h := NewHistory()
	p := proc(1, "grow", 100*mib, mib, 1, 0)
	h.Observe(View{Processes: []model.Process{p}})
	later := proc(1, "grow", 110*mib, mib, 1, 0)
	later.Sample.Time = t0.Add(5 * time.Second)
	v := View{Time: t0, Processes: []model.Process{later}}
	h.Observe(v)
	if r := Rows(v, Options{History: h})[0]; r.RSSPerHour != nil {
		t.Errorf("rate after 5s: %v, want none before %v", *r.RSSPerHour, minRateSpan)
	}
	later.Sample.Time = t0.Add(36 * time.Second)
	r := Rows(v, Options{History: h})[0]
	if r.RSSPerHour == nil || *r.RSSPerHour != 1000*mib || r.RSSRateSource != "top" {
		t.Fatalf("rate after 36s: %+v", r)
	}
	if cell := rateCell(r); cell != "~+1000M" {
		t.Errorf("cell %q", cell)
	}
	fit := 12.5 * mib
	later.Sample.RSS.SlopeBytesPerHour = &fit
	if r := Rows(v, Options{History: h})[0]; r.RSSRateSource != "fit" || rateCell(r) != "+12.5M" {
		t.Errorf("with a fit: %+v %q", r, rateCell(r))
	}
	h.Observe(View{}) // gone: forgotten
	later.Sample.RSS.SlopeBytesPerHour = nil
	if r := Rows(v, Options{History: h})[0]; r.RSSPerHour != nil {
		t.Errorf("rate of a forgotten process: %v", *r.RSSPerHour)
	}
}

// TestFindingsOrder: critical findings come first, and a cleanup stall
// without a stack in its evidence shows the running cleanup's stack.
func TestTopFindingsOrder(t *testing.T) {
	a := stalled(t, proc(1, "a", mib, mib, 1, 0), "main.a", "main.a a.go:1")
	b := proc(2, "b", mib, mib, 1, 0)
	b.Sample.Cleanups.Running = &model.Running{Function: "main.clean", Stack: []string{"main.clean c.go:9"}}
	b.Sample.Findings = []model.Finding{{Kind: model.KindCleanupStall, Severity: model.SeverityCritical, Since: t0, Summary: "cleanup main.clean stuck"}}
	lines := findingsBlock(View{Processes: []model.Process{a, b}}, 6, 0)
	want := []string{
		"FINDINGS",
		"  critical  cleanup_stall       2 b  cleanup main.clean stuck (since 16:10:31)",
		indent + "main.clean c.go:9",
		"  warning   finalizer_stall     1 a  finalizer main.a has been blocked for 11.7 s in net.(*netFD).Read; queue 1997 (since 16:10:25)",
		indent + "main.a a.go:1",
	}
	if !slices.Equal(lines, want) {
		t.Errorf("findings:\n%s\nwant:\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
}

// TestTopStackFrames: a long stack is elided in the middle, so that both
// where the call blocks and the finalizer function itself stay visible.
func TestTopStackFrames(t *testing.T) {
	v := node(t)
	got := findingsBlock(View{Processes: v.Processes[1:2]}, 4, 0)[2:]
	want := []string{
		indent + "runtime.netpollblock /usr/local/go/src/runtime/netpoll.go:575  (1 runtime frame above)",
		indent + "internal/poll.runtime_pollWait /usr/local/go/src/runtime/netpoll.go:351",
		indent + "internal/poll.(*pollDesc).wait /usr/local/go/src/internal/poll/fd_poll_runtime.go:84",
		indent + "… 2 more frames",
		indent + "main.(*Conn).Close /src/leakyservice/main.go:34",
	}
	if !slices.Equal(got, want) {
		t.Errorf("frames:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestTopFinRunBeforeAttach: a finalizer blocked since before attach shows
// the runtime's wait time rather than "≥ the time since attach".
func TestTopFinRunBeforeAttach(t *testing.T) {
	p := proc(1, "a", mib, mib, 1, 0)
	wait := 42.0
	p.Sample.Finalizers.Running = &model.Running{Function: "main.f", Seconds: 0.003, AtLeast: true, AgeSource: "attach", State: "blocked"}
	p.Sample.Finalizers.Goroutine = &model.GoroutineState{Status: "waiting", WaitSeconds: &wait}
	if r := Rows(View{Processes: []model.Process{p}}, Options{})[0]; finRunCell(r) != "42.0s" {
		t.Errorf("FIN-RUN %q, want the runtime's wait time 42.0s", finRunCell(r))
	}
	p.Sample.Finalizers.Goroutine = nil
	if r := Rows(View{Processes: []model.Process{p}}, Options{})[0]; finRunCell(r) != "≥3ms" {
		t.Errorf("FIN-RUN %q, want ≥3ms", finRunCell(r))
	}
}
