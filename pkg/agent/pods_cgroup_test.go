package agent_test

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/memsight/memsight/pkg/testutil"
)

// The helpers below build a kubepods-shaped cgroup v2 tree and move a
// process into it, as pkg/process's TestGetRealKubepodsCgroup does.

// podCgroup is a pod's container cgroup: systemd driver, containerd.
type podCgroup struct {
	uid, containerID string
	leaf             string // the container's cgroup directory
	back             string // cgroup.procs of the test's own cgroup
}

// newPodCgroup creates the cgroup of a pod with a random UID and container
// ID under base, and removes it when the test ends.
func newPodCgroup(t *testing.T, base string) *podCgroup {
	t.Helper()
	mount, own := cgroup2(t)
	u := randomHex(t, 16)
	c := &podCgroup{
		uid:         fmt.Sprintf("%s-%s-%s-%s-%s", u[:8], u[8:12], u[12:16], u[16:20], u[20:]),
		containerID: randomHex(t, 32),
		back:        filepath.Join(mount, own, "cgroup.procs"),
	}
	pod := "kubepods-besteffort-pod" + strings.ReplaceAll(c.uid, "-", "_") + ".slice"
	dir := filepath.Join(mount, base)
	for _, e := range []string{"kubepods.slice", "kubepods-besteffort.slice", pod, "cri-containerd-" + c.containerID + ".scope"} {
		dir = filepath.Join(dir, e)
		mkdirCgroup(t, dir)
	}
	c.leaf = dir
	return c
}

// newCgroupBase creates the test's top cgroup, checked empty at the end.
func newCgroupBase(t *testing.T) string {
	t.Helper()
	mount, _ := cgroup2(t)
	base := "memsight-agent-test-" + randomHex(t, 4)
	t.Cleanup(func() { // registered first, so it runs last
		if _, err := os.Stat(filepath.Join(mount, base)); err == nil {
			t.Errorf("cgroup %s left behind", base)
		}
	})
	mkdirCgroup(t, filepath.Join(mount, base))
	return base
}

func mkdirCgroup(t *testing.T, dir string) {
	t.Helper()
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		needCgroups(t, "creating cgroup %s: %v", dir, err)
	} else if err == nil {
		t.Cleanup(func() { rmdirCgroup(t, dir) }) // cleanups run leaf first
	}
}

// move puts pid into the container's cgroup, and back into the test's
// cgroup when the test ends (before the tree is removed).
func (c *podCgroup) move(t *testing.T, pid int) {
	t.Helper()
	t.Cleanup(func() {
		if err := os.WriteFile(c.back, []byte(strconv.Itoa(pid)), 0o644); err != nil && !errors.Is(err, syscall.ESRCH) {
			t.Errorf("moving pid %d back to %s: %v", pid, c.back, err)
		}
	})
	if err := os.WriteFile(filepath.Join(c.leaf, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0o644); err != nil {
		needCgroups(t, "moving pid %d into %s: %v", pid, c.leaf, err)
	}
}

// cgroup2 returns the cgroup v2 mount point and this process's cgroup.
func cgroup2(t *testing.T) (mount, own string) {
	t.Helper()
	if os.Geteuid() != 0 {
		needCgroups(t, "running as uid %d, not root", os.Geteuid())
	}
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		fields, fs := strings.Fields(pre), strings.Fields(post)
		if ok && len(fields) >= 5 && len(fs) >= 1 && fs[0] == "cgroup2" {
			mount = fields[4]
			break
		}
	}
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	for l := range strings.SplitSeq(string(b), "\n") {
		if p, ok := strings.CutPrefix(l, "0::"); ok {
			own = p
		}
	}
	if mount == "" || own == "" {
		needCgroups(t, "no cgroup v2 hierarchy (mount %q, own cgroup %q)", mount, own)
	}
	return mount, own
}

func rmdirCgroup(t *testing.T, dir string) {
	var err error
	for range 50 {
		if err = syscall.Rmdir(dir); err == nil || errors.Is(err, syscall.ENOENT) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Errorf("removing cgroup %s: %v", dir, err)
}

func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// needCgroups fails the test, unless MEMSIGHT_SKIP_BPF=1 asks to skip
// privilege-dependent tests.
func needCgroups(t *testing.T, format string, args ...any) {
	t.Helper()
	t.Logf(format, args...)
	testutil.RequireBPF(t)
	t.Fatalf("this test needs root and a writable cgroup v2 hierarchy (set MEMSIGHT_SKIP_BPF=1 to skip privilege-dependent tests): "+format, args...)
}
