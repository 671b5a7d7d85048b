package pyroscope

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/pprof/profile"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/memsight/memsight/pkg/model"
)

// fakeSource serves a heap profile whose one site allocates 10 more
// objects at each read, and a goroutine profile.
type fakeSource struct {
	mu    sync.Mutex
	reads int
	proc  model.Process
}

func (f *fakeSource) Snapshot() model.Snapshot {
	return model.Snapshot{Time: time.Now(), Processes: []model.Process{f.proc, {PID: 99, State: model.StateFailed}}}
}

func (f *fakeSource) Profile(_ context.Context, pid int, kind string, _ bool) (*model.Profile, error) {
	if pid != f.proc.PID {
		return nil, model.ErrNotWatched
	}
	f.mu.Lock()
	f.reads++
	n := int64(f.reads)
	f.mu.Unlock()
	fn := &profile.Function{ID: 1, Name: "main.leak"}
	loc := &profile.Location{ID: 1, Address: 0x1000, Line: []profile.Line{{Function: fn}}}
	p := &profile.Profile{Function: []*profile.Function{fn}, Location: []*profile.Location{loc}, TimeNanos: time.Now().UnixNano()}
	if kind == model.ProfileHeap {
		p.SampleType = []*profile.ValueType{{Type: "alloc_objects", Unit: "count"}, {Type: "alloc_space", Unit: "bytes"},
			{Type: "inuse_objects", Unit: "count"}, {Type: "inuse_space", Unit: "bytes"}}
		p.PeriodType, p.Period = &profile.ValueType{Type: "space", Unit: "bytes"}, 512*1024
		p.Sample = []*profile.Sample{{Location: []*profile.Location{loc}, Value: []int64{10 * n, 10240 * n, 5, 5120},
			NumLabel: map[string][]int64{"bytes": {1024}}}}
	} else {
		p.SampleType = []*profile.ValueType{{Type: "goroutine", Unit: "count"}}
		p.PeriodType, p.Period = &profile.ValueType{Type: "goroutine", Unit: "count"}, 1
		p.Sample = []*profile.Sample{{Location: []*profile.Location{loc}, Value: []int64{7}}}
	}
	return &model.Profile{Process: f.proc, Kind: kind, Profile: p, Time: time.Now()}, nil
}

type received struct {
	query  map[string]string
	header http.Header
	prof   *profile.Profile
}

// TestPush: every push decodes with the pprof library, names the service
// and carries the labels, from/until and the credentials; the heap
// profile's alloc values are deltas from the second push on; a 503 is
// retried; metrics count what was sent.
func TestPush(t *testing.T) {
	var mu sync.Mutex
	var got []received
	fail := 1
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/base/ingest" {
			t.Errorf("path %s", r.URL.Path)
		}
		mu.Lock()
		defer mu.Unlock()
		if fail > 0 {
			fail--
			http.Error(w, "try later", http.StatusServiceUnavailable)
			return
		}
		p, err := profile.Parse(r.Body)
		if err != nil {
			t.Errorf("body is no pprof profile: %v", err)
			return
		}
		q := map[string]string{}
		for k, v := range r.URL.Query() {
			q[k] = v[0]
		}
		got = append(got, received{query: q, header: r.Header.Clone(), prof: p})
	}))
	defer srv.Close()
	src := &fakeSource{proc: model.Process{PID: 42, Comm: "web", State: model.StateWatching, Since: time.Now(),
		Pod: "web-0", Namespace: "shop", Container: "server", GoVersion: "go1.26.8"}}
	p, err := New(Config{URL: srv.URL + "/base/", Node: "node-a", BasicAuthUser: "u", BasicAuthPassword: "pw",
		TenantID: "team-a", Backoff: time.Millisecond, Interval: time.Minute}, Options{Source: src})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan struct{})
	go func() { p.deliverLoop(ctx); close(done) }()
	p.Collect(ctx)
	p.Collect(ctx)
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := len(got)
		mu.Unlock()
		if n == 4 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	<-done
	if len(got) != 4 {
		t.Fatalf("%d pushes received, want 4 (2 heap, 2 goroutine)", len(got))
	}
	var heaps []*profile.Profile
	for _, r := range got {
		if want := "shop/server{container=server,namespace=shop,node=node-a,pid=42,pod=web-0}"; r.query["name"] != want {
			t.Errorf("name %q, want %q", r.query["name"], want)
		}
		from, _ := strconv.ParseInt(r.query["from"], 10, 64)
		until, _ := strconv.ParseInt(r.query["until"], 10, 64)
		if now := time.Now().Unix(); until < now-5 || until > now+1 || until-from != 60 {
			t.Errorf("from %d until %d (now %d), want an interval of 60 s ending now", from, until, now)
		}
		if r.query["format"] != "pprof" {
			t.Errorf("format %q", r.query["format"])
		}
		if u, pw, ok := (&http.Request{Header: r.header}).BasicAuth(); !ok || u != "u" || pw != "pw" {
			t.Errorf("basic auth %q %q %v", u, pw, ok)
		}
		if r.header.Get("X-Scope-OrgID") != "team-a" {
			t.Errorf("X-Scope-OrgID %q", r.header.Get("X-Scope-OrgID"))
		}
		if r.prof.SampleType[0].Type == "alloc_objects" {
			heaps = append(heaps, r.prof)
		}
	}
	if len(heaps) != 2 {
		t.Fatalf("%d heap profiles, want 2", len(heaps))
	}
	// Reads 1 and 3 are the heap profiles: 10 then 30 objects allocated.
	if v := heaps[0].Sample[0].Value; v[0] != 10 || v[2] != 5 {
		t.Errorf("first heap push %v, want alloc 10 (since start), in use 5", v)
	}
	if v := heaps[1].Sample[0].Value; v[0] != 20 || v[1] != 20480 || v[2] != 5 || v[3] != 5120 {
		t.Errorf("second heap push %v, want alloc deltas 20 20480 and in use 5 5120", v)
	}
	if n := testutil.ToFloat64(p.m.pushes.WithLabelValues("sent")); n != 4 {
		t.Errorf("pushes sent %v, want 4", n)
	}
	if n := testutil.ToFloat64(p.m.retries); n != 1 {
		t.Errorf("retries %v, want 1", n)
	}
}

// TestPushQueueBound: with nobody sending, the queue keeps the newest
// QueueSize pushes and counts the dropped ones.
func TestPushQueueBound(t *testing.T) {
	src := &fakeSource{proc: model.Process{PID: 7, Comm: "a b:c", State: model.StateWatching}}
	p, err := New(Config{URL: "http://127.0.0.1:1", QueueSize: 3}, Options{Source: src})
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		p.Collect(context.Background())
	}
	if len(p.queue) != 3 || testutil.ToFloat64(p.m.dropped) != 3 {
		t.Errorf("queue %d, dropped %v; want 3 and 3", len(p.queue), testutil.ToFloat64(p.m.dropped))
	}
	if !strings.HasPrefix(p.queue[0].query, "format=pprof&from=") || !strings.Contains(p.queue[0].query, "name=a_b_c%7Bpid%3D7%7D") {
		t.Errorf("query %s", p.queue[0].query)
	}
}

func TestNewRejectsBadURL(t *testing.T) {
	for _, u := range []string{"", "pyroscope:4040", "ftp://x"} {
		if _, err := New(Config{URL: u}, Options{Source: &fakeSource{}}); err == nil {
			t.Errorf("URL %q accepted", u)
		}
	}
}
