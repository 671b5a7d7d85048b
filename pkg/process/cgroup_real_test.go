package process

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// cgroup2Mount returns where the cgroup v2 hierarchy is mounted (e.g.
// /sys/fs/cgroup, or /sys/fs/cgroup/unified in hybrid mode).
func cgroup2Mount() (string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// "<id> <parent> <maj:min> <root> <mount point> <opts> [optional...] - <fstype> <source> <super opts>"
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		fields, fsFields := strings.Fields(pre), strings.Fields(post)
		if ok && len(fields) >= 5 && len(fsFields) >= 1 && fsFields[0] == "cgroup2" {
			return fields[4], nil
		}
	}
	if err := sc.Err(); err != nil {
		return "", err
	}
	return "", errors.New("no cgroup2 mount in /proc/self/mountinfo")
}

// ownCgroup2 returns the cgroup v2 path of this process ("0::<path>").
func ownCgroup2() (string, error) {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return "", err
	}
	for l := range strings.SplitSeq(string(b), "\n") {
		if p, ok := strings.CutPrefix(l, "0::"); ok {
			return p, nil
		}
	}
	return "", errors.New("no cgroup v2 line in /proc/self/cgroup")
}

func randomHex(t *testing.T, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// TestGetRealKubepodsCgroup builds a kubepods-shaped cgroup v2 tree (systemd
// driver, containerd), moves a real process into its leaf and checks that
// Get and List report the pod and container.
func TestGetRealKubepodsCgroup(t *testing.T) {
	if os.Geteuid() != 0 {
		needPrivilege(t, "running as uid %d, not root", os.Geteuid())
	}
	mount, err := cgroup2Mount()
	if err != nil {
		needPrivilege(t, "finding the cgroup v2 mount: %v", err)
	}
	own, err := ownCgroup2()
	if err != nil {
		needPrivilege(t, "finding this process's cgroup v2: %v", err)
	}
	origProcs := filepath.Join(mount, own, "cgroup.procs")
	if _, err := os.Stat(origProcs); err != nil {
		needPrivilege(t, "this process's cgroup is not under %s: %v", mount, err)
	}

	u := randomHex(t, 16)
	uid := fmt.Sprintf("%s-%s-%s-%s-%s", u[:8], u[8:12], u[12:16], u[16:20], u[20:])
	cid := randomHex(t, 32)
	pod := "kubepods-besteffort-pod" + strings.ReplaceAll(uid, "-", "_") + ".slice"
	rel := []string{"memsight-test-" + randomHex(t, 4), "kubepods.slice", "kubepods-besteffort.slice", pod, "cri-containerd-" + cid + ".scope"}

	base := filepath.Join(mount, rel[0])
	t.Cleanup(func() { // registered first, so it runs last
		if _, err := os.Stat(base); err == nil {
			t.Errorf("cgroup %s left behind", base)
		}
	})
	leaf := mount
	for _, e := range rel {
		dir := filepath.Join(leaf, e)
		if err := os.Mkdir(dir, 0o755); err != nil {
			needPrivilege(t, "creating cgroup %s: %v", dir, err)
		}
		t.Cleanup(func() { rmdirCgroup(t, dir) }) // cleanups run leaf first
		leaf = dir
	}

	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting sleep: %v", err)
	}
	pid := cmd.Process.Pid
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	t.Cleanup(func() {
		// Move it back first, so the tree can go even if killing fails.
		if err := os.WriteFile(origProcs, []byte(strconv.Itoa(pid)), 0o644); err != nil && !errors.Is(err, syscall.ESRCH) {
			t.Errorf("moving pid %d back to %s: %v", pid, origProcs, err)
		}
	})
	if err := os.WriteFile(filepath.Join(leaf, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0o644); err != nil {
		needPrivilege(t, "moving pid %d into %s: %v", pid, leaf, err)
	}
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
	wantPath := "/" + strings.Join(rel, "/")
	if own != "/" {
		wantPath = own + wantPath
	}
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

// rmdirCgroup removes an empty cgroup, retrying while the kernel still
// counts a process that has just exited or moved.
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
