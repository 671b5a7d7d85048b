package agent

import (
	"testing"

	"github.com/memsight/memsight/pkg/model"
)

// podsFunc is an agent.Pods from a function.
type podsFunc func(podUID, containerID string) (model.Pod, bool)

func (f podsFunc) Lookup(podUID, containerID string) (model.Pod, bool) { return f(podUID, containerID) }

// TestPodsEnrich: names are filled in when the pod is known; an ignored
// entry is inspected again only once its pod is known and not ignored.
func TestPodsEnrich(t *testing.T) {
	known := map[string]model.Pod{
		"uid-web":   {Name: "web", Namespace: "shop", Container: "app"},
		"uid-batch": {Name: "batch", Namespace: "jobs", Ignored: true},
	}
	a := &Agent{cfg: Config{Pods: podsFunc(func(uid, _ string) (model.Pod, bool) { p, ok := known[uid]; return p, ok })}}
	a.tun.Store(&Tunables{})
	p := model.Process{PID: 1, PodUID: "uid-web", ContainerID: "c1"}
	if pod, ok := a.enrich(&p); !ok || pod.Ignored || p.Pod != "web" || p.Namespace != "shop" || p.Container != "app" {
		t.Errorf("enrich(web) = %+v", p)
	}
	q := model.Process{PID: 2, PodUID: "uid-batch"}
	if pod, _ := a.enrich(&q); !pod.Ignored || ignoredReason(q) != `pod jobs/batch is annotated memsight.io/ignore: "true"` {
		t.Errorf("enrich(batch) = %+v, reason %q", q, ignoredReason(q))
	}
	for uid, want := range map[string]bool{"uid-web": true, "uid-batch": false, "uid-gone": false, "": false} {
		if got := a.unignored(&entry{info: model.Process{PodUID: uid}}); got != want {
			t.Errorf("unignored(%q) = %v, want %v", uid, got, want)
		}
	}
	ps := []model.Process{{PID: 3, PodUID: "uid-web", Pod: ""}, {PID: 4}}
	a.enrichAll(ps)
	if ps[0].Pod != "web" || ps[1].Pod != "" {
		t.Errorf("enrichAll: %+v", ps)
	}
	none := &Agent{}
	if p := (model.Process{PodUID: "uid-web"}); func() bool { _, ok := none.enrich(&p); return ok }() || p.Pod != "" {
		t.Errorf("without Pods: %+v", p)
	}
}
