package process

import (
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/memsight/memsight/pkg/testutil"
)

// TestGetRealKubepodsCgroup builds a kubepods-shaped cgroup v2 tree (systemd
// driver, containerd), moves a real process into its leaf and checks that
// Get and List report the pod and container.
func TestGetRealKubepodsCgroup(t *testing.T) {
	base := testutil.NewCgroupBase(t, "memsight-test-")
	c := testutil.NewPodCgroup(t, base)
	uid, cid := c.UID, c.ContainerID

	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting sleep: %v", err)
	}
	pid := cmd.Process.Pid
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	c.Move(t, pid) // moved back before the tree goes, even if killing fails
	cg, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("/proc/%d/cgroup:\n%s", pid, cg)

	r := newReader(t)
	p, err := r.Get(pid)
	if err != nil {
		t.Fatal(err)
	}
	wantPath := c.Rel
	if p.PodUID != uid || p.ContainerID != cid || p.ContainerRuntime != RuntimeContainerd || !strings.HasSuffix(p.CgroupPath, wantPath) {
		t.Errorf("Get(%d): path %q, container %q, pod %q, runtime %q; want path ending %q, container %s, pod %s, containerd",
			pid, p.CgroupPath, p.ContainerID, p.PodUID, p.ContainerRuntime, wantPath, cid, uid)
	}
	ps, err := r.List(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(ps, func(q Process) bool { return q.PID == pid })
	if i < 0 || ps[i].PodUID != uid || ps[i].ContainerID != cid {
		t.Errorf("List does not report pid %d in pod %s, container %s", pid, uid, cid)
	}
}
