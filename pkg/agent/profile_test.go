package agent

import (
	"slices"
	"testing"

	"github.com/memsight/memsight/pkg/model"
)

func TestServiceName(t *testing.T) {
	for _, c := range []struct {
		p    model.Process
		want string
	}{
		{model.Process{Comm: "web", Namespace: "shop", Container: "server", Owner: "checkout"}, "shop/checkout"},
		{model.Process{Comm: "web", Namespace: "shop", Container: "server"}, "shop/server"},
		{model.Process{Comm: "web", Container: "server"}, "web"},
		{model.Process{Comm: "web"}, "web"},
	} {
		if got := model.ServiceName(c.p); got != c.want {
			t.Errorf("ServiceName(%+v) = %q, want %q", c.p, got, c.want)
		}
	}
	got := ProfileComments(model.Process{PID: 7, Comm: "web", GoVersion: "go1.26.8", Pod: "web-0", Namespace: "shop"})
	if want := []string{"pid=7", "comm=web", "go_version=go1.26.8", "pod=web-0", "namespace=shop"}; !slices.Equal(got, want) {
		t.Errorf("comments %q, want %q", got, want)
	}
}
