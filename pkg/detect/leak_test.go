package detect

import (
	"strings"
	"testing"
	"time"

	"github.com/memsight/memsight/pkg/model"
)

func TestGoroutineLeakFinding(t *testing.T) {
	d := New(Config{})
	now := time.Now()
	s := &model.Sample{Time: now}
	if f := d.Update(s); len(f) != 0 {
		t.Fatalf("no verdict: findings %+v", f)
	}
	wait := 42.0
	s = &model.Sample{Time: now.Add(time.Second), GoroutineLeaks: &model.GoroutineLeaks{
		Time: now, Leaked: 7, BytesPinnedEstimate: 3 << 20,
		Leaks: []model.Leak{
			{CreationSite: "main.serve main.go:10", Function: "main.serve.func1", WaitReason: "chan receive", Count: 5, OldestWaitSeconds: &wait, BytesPinnedEstimate: 2 << 20},
			{CreationSite: "main.lock main.go:20", Function: "main.lock.func1", WaitReason: "sync.Mutex.Lock", Count: 2, BytesPinnedEstimate: 1 << 20},
		},
	}}
	fs := d.Update(s)
	if len(fs) != 1 || fs[0].Kind != model.KindGoroutineLeak || fs[0].Severity != model.SeverityWarning {
		t.Fatalf("findings %+v, want one goroutine_leak warning", fs)
	}
	f := fs[0]
	if !strings.Contains(f.Summary, "7 goroutines leaked") || !strings.Contains(f.Summary, "5 × main.serve.func1 [chan receive]") {
		t.Errorf("summary %q", f.Summary)
	}
	sites, _ := f.Evidence["sites"].([]map[string]any)
	if len(sites) != 2 || sites[0]["count"] != 5 || sites[0]["oldest_wait_seconds"] != 42.0 {
		t.Errorf("evidence sites %+v", sites)
	}
	// A later verdict without leaks clears it.
	s = &model.Sample{Time: now.Add(2 * time.Second), GoroutineLeaks: &model.GoroutineLeaks{Time: now}}
	if fs := d.Update(s); len(fs) != 0 {
		t.Errorf("findings after a clean verdict: %+v", fs)
	}
}
