package webhook

import (
	"context"
	"crypto/hmac"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/memsight/memsight/pkg/model"
)

var t0 = time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)

// source is a Source whose findings the test sets.
type source struct {
	mu   sync.Mutex
	snap model.Snapshot
}

func (s *source) Snapshot() model.Snapshot { s.mu.Lock(); defer s.mu.Unlock(); return s.snap }

func (s *source) set(pids []int, kinds ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.snap = snapshot(pids, kinds...)
}

func snapshot(pids []int, kinds ...string) model.Snapshot {
	snap := model.Snapshot{Time: time.Now()}
	for _, pid := range pids {
		smp := &model.Sample{}
		for _, k := range kinds {
			smp.Findings = append(smp.Findings, model.Finding{Kind: k, Severity: "critical", Since: t0, Summary: k + " summary",
				Evidence: map[string]any{"queue": 5}})
		}
		snap.Processes = append(snap.Processes, model.Process{PID: pid, Comm: "svc", State: model.StateWatching, Sample: smp})
	}
	return snap
}

// receiver is a webhook receiver on loopback; status answers each request
// (200 when nil).
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	bodies [][]byte
	sigs   []string
	times  []time.Time
	status func(n int) int
}

func newReceiver(t *testing.T, status func(n int) int) *receiver {
	r := &receiver{status: status}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.bodies = append(r.bodies, b)
		r.sigs = append(r.sigs, req.Header.Get(SignatureHeader))
		r.times = append(r.times, time.Now())
		n := len(r.bodies)
		r.mu.Unlock()
		if r.status != nil {
			w.WriteHeader(r.status(n))
		}
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) count() int { r.mu.Lock(); defer r.mu.Unlock(); return len(r.bodies) }

func (r *receiver) events(t *testing.T) []Event {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	evs := make([]Event, len(r.bodies))
	for i, b := range r.bodies {
		if err := json.Unmarshal(b, &evs[i]); err != nil {
			t.Fatalf("body %d: %v: %s", i, err, b)
		}
	}
	return evs
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for start := time.Now(); !ok(); time.Sleep(5 * time.Millisecond) {
		if time.Since(start) > 5*time.Second {
			t.Fatalf("no %s within 5s", what)
		}
	}
}

// TestFireOnceResolveOnce runs a sink against a source whose finding stays
// for several polls, then clears: one fire, one resolve, signed.
func TestFireOnceResolveOnce(t *testing.T) {
	rcv := newReceiver(t, nil)
	src := &source{}
	secret := []byte("s3cret")
	s, err := New(Config{URL: rcv.URL, Secret: secret, Node: "node-1"}, Options{Source: src, Interval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { s.Run(ctx) })
	defer func() { cancel(); wg.Wait() }()

	src.set([]int{42}, "finalizer_stall")
	waitFor(t, "the fire", func() bool { return rcv.count() == 1 })
	time.Sleep(100 * time.Millisecond) // about 10 more polls with the finding active
	if n := rcv.count(); n != 1 {
		t.Fatalf("%d deliveries while the finding stayed active, want 1", n)
	}
	src.set([]int{42})
	waitFor(t, "the resolve", func() bool { return rcv.count() == 2 })
	time.Sleep(50 * time.Millisecond)
	evs := rcv.events(t)
	if len(evs) != 2 || evs[0].Status != StatusFiring || evs[1].Status != StatusResolved {
		t.Fatalf("events %+v, want one firing then one resolved", evs)
	}
	for _, ev := range evs {
		if ev.Kind != "finalizer_stall" || ev.PID != 42 || ev.Comm != "svc" || ev.Node != "node-1" || !ev.Since.Equal(t0) {
			t.Errorf("event %+v", ev)
		}
		if want := "/api/v1/evidence/" + model.EvidenceID(42, "finalizer_stall", t0); ev.EvidenceURL != want {
			t.Errorf("evidence_url %q, want %q", ev.EvidenceURL, want)
		}
	}
	if evs[0].ResolvedAt != nil || evs[1].ResolvedAt == nil || evs[0].Evidence["queue"] != 5.0 {
		t.Errorf("resolved_at %v / %v, evidence %v", evs[0].ResolvedAt, evs[1].ResolvedAt, evs[0].Evidence)
	}
	rcv.mu.Lock()
	for i, b := range rcv.bodies {
		if want := Sign(secret, b); !hmac.Equal([]byte(rcv.sigs[i]), []byte(want)) || len(want) != len("sha256=")+64 {
			t.Errorf("delivery %d: signature %q, want %q", i, rcv.sigs[i], want)
		}
	}
	rcv.mu.Unlock()
	if n := testutil.ToFloat64(s.m.deliveries.WithLabelValues("sent")); n != 2 {
		t.Errorf("deliveries_total{result=sent} = %v", n)
	}
}

// TestRetryThenSuccess: two 500s, then 200: delivered once, after two
// retries with a doubling backoff.
func TestRetryThenSuccess(t *testing.T) {
	rcv := newReceiver(t, func(n int) int {
		if n <= 2 {
			return http.StatusInternalServerError
		}
		return http.StatusOK
	})
	s, err := New(Config{URL: rcv.URL, MaxRetries: 3, Backoff: 20 * time.Millisecond}, Options{Source: &source{}})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if !s.deliver(context.Background(), Event{Kind: "k", Status: StatusFiring}, s.cfg) {
		t.Fatal("not delivered")
	}
	if n := rcv.count(); n != 3 {
		t.Fatalf("%d requests, want 3", n)
	}
	gap1, gap2 := rcv.times[1].Sub(rcv.times[0]), rcv.times[2].Sub(rcv.times[1])
	t.Logf("delivered after %v; gaps %v, %v", time.Since(start).Round(time.Millisecond), gap1.Round(time.Millisecond), gap2.Round(time.Millisecond))
	if gap1 < 20*time.Millisecond || gap2 < 40*time.Millisecond {
		t.Errorf("backoff gaps %v, %v: want ≥ 20ms then ≥ 40ms", gap1, gap2)
	}
	if r := testutil.ToFloat64(s.m.retries); r != 2 {
		t.Errorf("retries_total %v, want 2", r)
	}
	// A 400 is not retried; retries exhausted on 503 fail.
	bad := newReceiver(t, func(int) int { return http.StatusBadRequest })
	if s.deliver(context.Background(), Event{}, Config{URL: bad.URL, MaxRetries: 3, Backoff: time.Millisecond, Timeout: time.Second, Format: FormatJSON}) || bad.count() != 1 {
		t.Errorf("400: %d requests, want 1 and a failure", bad.count())
	}
	down := newReceiver(t, func(int) int { return http.StatusServiceUnavailable })
	if s.deliver(context.Background(), Event{}, Config{URL: down.URL, MaxRetries: 2, Backoff: time.Millisecond, MaxBackoff: time.Millisecond, Timeout: time.Second}) || down.count() != 3 {
		t.Errorf("503: %d requests, want 3 and a failure", down.count())
	}
	if n := testutil.ToFloat64(s.m.deliveries.WithLabelValues("failed")); n != 2 {
		t.Errorf("deliveries_total{result=failed} = %v, want 2", n)
	}
}

// TestQueueDropsOldest: with nothing delivering, a queue of 2 keeps the two
// newest of 5 events and counts 3 dropped.
func TestQueueDropsOldest(t *testing.T) {
	s, err := New(Config{URL: "http://127.0.0.1:1/", QueueSize: 2}, Options{Source: &source{}})
	if err != nil {
		t.Fatal(err)
	}
	for pid := 1; pid <= 5; pid++ {
		s.Observe(snapshot([]int{1, 2, 3, 4, 5}[:pid], "finalizer_stall"))
	}
	if d := testutil.ToFloat64(s.m.dropped); d != 3 {
		t.Errorf("dropped_total %v, want 3", d)
	}
	if q := testutil.ToFloat64(s.m.queue); q != 2 || len(s.queue) != 2 || s.queue[0].PID != 4 || s.queue[1].PID != 5 {
		t.Errorf("queue %v (gauge %v), want the events of pids 4 and 5", s.queue, q)
	}
}

// TestAlertmanagerFormat checks the /api/v2/alerts shape.
func TestAlertmanagerFormat(t *testing.T) {
	end := t0.Add(time.Minute)
	ev := Event{Status: StatusResolved, Kind: "finalizer_stall", Severity: "critical", Summary: "stuck", Since: t0,
		ResolvedAt: &end, PID: 7, Comm: "svc", Node: "n1"}
	b, err := body(ev, FormatAlertmanager)
	if err != nil {
		t.Fatal(err)
	}
	var alerts []map[string]any
	if err := json.Unmarshal(b, &alerts); err != nil || len(alerts) != 1 {
		t.Fatalf("%s: %v", b, err)
	}
	a := alerts[0]
	labels, _ := a["labels"].(map[string]any)
	want := map[string]any{"alertname": "MemsightFinalizerStall", "kind": "finalizer_stall", "pid": "7", "comm": "svc", "severity": "critical", "node": "n1"}
	for k, v := range want {
		if labels[k] != v {
			t.Errorf("label %s = %v, want %v", k, labels[k], v)
		}
	}
	if ann, _ := a["annotations"].(map[string]any); ann["summary"] != "stuck" {
		t.Errorf("annotations %v", a["annotations"])
	}
	if a["startsAt"] != "2026-11-26T12:00:00Z" || a["endsAt"] != "2026-11-26T12:01:00Z" {
		t.Errorf("startsAt %v endsAt %v", a["startsAt"], a["endsAt"])
	}
	ev.Status, ev.ResolvedAt = StatusFiring, nil
	b, _ = body(ev, FormatAlertmanager)
	var firing []map[string]any
	_ = json.Unmarshal(b, &firing)
	if _, ok := firing[0]["endsAt"]; ok {
		t.Errorf("a firing alert has endsAt: %s", b)
	}
}

// TestFlushOnShutdown: events pending when Run's context ends are
// delivered within FlushTimeout.
func TestFlushOnShutdown(t *testing.T) {
	rcv := newReceiver(t, nil)
	src := &source{}
	src.set([]int{1, 2, 3}, "fd_growth")
	s, err := New(Config{URL: rcv.URL, FlushTimeout: 2 * time.Second}, Options{Source: src, Interval: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // Run polls once, then flushes
	start := time.Now()
	s.Run(ctx)
	t.Logf("flushed %d in %v", rcv.count(), time.Since(start).Round(time.Millisecond))
	if n := rcv.count(); n != 3 {
		t.Fatalf("%d deliveries after the flush, want 3", n)
	}
}

// TestAlertmanagerResend: in the alertmanager format a firing alert is
// re-sent every Resend while active; in the json format never.
func TestAlertmanagerResend(t *testing.T) {
	for _, c := range []struct {
		format string
		want   int
	}{{FormatAlertmanager, 3}, {FormatJSON, 1}} {
		s, err := New(Config{URL: "http://127.0.0.1:1/", Format: c.format, Resend: time.Minute}, Options{Source: &source{}})
		if err != nil {
			t.Fatal(err)
		}
		snap := snapshot([]int{9}, "heap_growth")
		for _, d := range []time.Duration{0, 30 * time.Second, 61 * time.Second, 90 * time.Second, 122 * time.Second} {
			snap.Time = t0.Add(d)
			s.Observe(snap)
		}
		if len(s.queue) != c.want {
			t.Errorf("%s: %d deliveries queued over 2 minutes, want %d", c.format, len(s.queue), c.want)
		}
	}
}

// TestPodNames: the event carries the pod, namespace and container names
// when the agent knows them; the Alertmanager labels container and pod are
// the names then, as in memsight's metrics, else the IDs.
func TestPodNames(t *testing.T) {
	p := model.Process{PID: 7, Comm: "svc", ContainerID: "c0ffee", PodUID: "uid-1", State: model.StateWatching}
	f := model.Finding{Kind: "finalizer_stall", Since: t0}
	for _, c := range []struct {
		pod, ns, container string
		wantPod, wantCtr   string
	}{{"web", "shop", "app", "web", "app"}, {"", "", "", "uid-1", "c0ffee"}} {
		p.Pod, p.Namespace, p.Container = c.pod, c.ns, c.container
		ev := newEvent(p, f, "n1")
		if ev.Pod != c.pod || ev.Namespace != c.ns || ev.Container != c.container || ev.PodUID != "uid-1" {
			t.Errorf("event %+v", ev)
		}
		b, err := body(ev, FormatAlertmanager)
		if err != nil {
			t.Fatal(err)
		}
		var alerts []Alert
		if err := json.Unmarshal(b, &alerts); err != nil {
			t.Fatal(err)
		}
		if l := alerts[0].Labels; l["pod"] != c.wantPod || l["container"] != c.wantCtr || l["namespace"] != c.ns {
			t.Errorf("labels %v, want pod %q container %q namespace %q", l, c.wantPod, c.wantCtr, c.ns)
		}
	}
}
