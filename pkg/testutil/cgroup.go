package testutil

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
)

// Real cgroup v2 trees for tests: root on this machine can create cgroups
// and move processes into them, so container and pod shapes are tested on
// the kernel's own /proc/PID/cgroup rather than on fixtures only.

// Cgroup is a cgroup v2 directory a test created; it is removed, leaf first,
// when the test ends.
type Cgroup struct {
	Dir  string // absolute path under the cgroup v2 mount
	Rel  string // path relative to the mount, starting with "/"
	back string // cgroup.procs of the test's own cgroup
}

// PodCgroup is the cgroup of one container of a Kubernetes pod: systemd
// driver, containerd, best-effort QoS.
type PodCgroup struct {
	Cgroup
	UID, ContainerID string
}

// CgroupV2 returns the cgroup v2 mount point and the test process's own
// cgroup. Without root or a cgroup v2 hierarchy the test fails (it skips
// only with MEMSIGHT_SKIP_BPF=1, like the other privilege-dependent tests).
func CgroupV2(tb testing.TB) (mount, own string) {
	tb.Helper()
	if os.Geteuid() != 0 {
		needCgroups(tb, "running as uid %d, not root", os.Geteuid())
	}
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		// "<id> <parent> <maj:min> <root> <mount point> <opts> [optional...] - <fstype> <source> <super opts>"
		pre, post, ok := strings.Cut(sc.Text(), " - ")
		fields, fs := strings.Fields(pre), strings.Fields(post)
		if ok && len(fields) >= 5 && len(fs) >= 1 && fs[0] == "cgroup2" {
			mount = fields[4]
			break
		}
	}
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		tb.Fatal(err)
	}
	for l := range strings.SplitSeq(string(b), "\n") {
		if p, ok := strings.CutPrefix(l, "0::"); ok {
			own = p
		}
	}
	if mount == "" || own == "" {
		needCgroups(tb, "no cgroup v2 hierarchy (mount %q, own cgroup %q)", mount, own)
	}
	if _, err := os.Stat(filepath.Join(mount, own, "cgroup.procs")); err != nil {
		needCgroups(tb, "this process's cgroup is not under %s: %v", mount, err)
	}
	return mount, own
}

// NewCgroupBase creates a top cgroup named prefix + random hex for the test
// and returns its path relative to the mount; the test fails if anything is
// left in it at the end.
func NewCgroupBase(tb testing.TB, prefix string) string {
	tb.Helper()
	mount, _ := CgroupV2(tb)
	base := prefix + RandomHex(tb, 4)
	tb.Cleanup(func() { // registered first, so it runs last
		if _, err := os.Stat(filepath.Join(mount, base)); err == nil {
			tb.Errorf("cgroup %s left behind", base)
		}
	})
	MkdirCgroup(tb, filepath.Join(mount, base))
	return base
}

// NewCgroup creates base/elems... under the mount (base must exist).
func NewCgroup(tb testing.TB, base string, elems ...string) *Cgroup {
	tb.Helper()
	mount, own := CgroupV2(tb)
	dir := filepath.Join(mount, base)
	for _, e := range elems {
		dir = filepath.Join(dir, e)
		MkdirCgroup(tb, dir)
	}
	return &Cgroup{Dir: dir, Rel: strings.TrimPrefix(dir, mount), back: filepath.Join(mount, own, "cgroup.procs")}
}

// NewPodCgroup creates, under base, the cgroup of a pod with a random UID
// and one containerd container with a random ID:
// kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod<uid>.slice/cri-containerd-<id>.scope.
func NewPodCgroup(tb testing.TB, base string) *PodCgroup {
	tb.Helper()
	u := RandomHex(tb, 16)
	uid := fmt.Sprintf("%s-%s-%s-%s-%s", u[:8], u[8:12], u[12:16], u[16:20], u[20:])
	cid := RandomHex(tb, 32)
	pod := "kubepods-besteffort-pod" + strings.ReplaceAll(uid, "-", "_") + ".slice"
	c := NewCgroup(tb, base, "kubepods.slice", "kubepods-besteffort.slice", pod, "cri-containerd-"+cid+".scope")
	return &PodCgroup{Cgroup: *c, UID: uid, ContainerID: cid}
}

// Move puts pid into the cgroup, and back into the test's own cgroup when
// the test ends (before the tree is removed).
func (c *Cgroup) Move(tb testing.TB, pid int) {
	tb.Helper()
	tb.Cleanup(func() {
		if err := os.WriteFile(c.back, []byte(strconv.Itoa(pid)), 0o644); err != nil && !errors.Is(err, syscall.ESRCH) {
			tb.Errorf("moving pid %d back to %s: %v", pid, c.back, err)
		}
	})
	if err := os.WriteFile(filepath.Join(c.Dir, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0o644); err != nil {
		needCgroups(tb, "moving pid %d into %s: %v", pid, c.Dir, err)
	}
}

// MkdirCgroup creates the cgroup dir (an existing one is reused and left
// alone) and removes it when the test ends.
func MkdirCgroup(tb testing.TB, dir string) {
	tb.Helper()
	if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
		needCgroups(tb, "creating cgroup %s: %v", dir, err)
	} else if err == nil {
		tb.Cleanup(func() { rmdirCgroup(tb, dir) }) // cleanups run leaf first
	}
}

// rmdirCgroup removes an empty cgroup, retrying while the kernel still
// counts a process that has just exited or moved.
func rmdirCgroup(tb testing.TB, dir string) {
	var err error
	for range 50 {
		if err = syscall.Rmdir(dir); err == nil || errors.Is(err, syscall.ENOENT) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	tb.Errorf("removing cgroup %s: %v", dir, err)
}

// RandomHex returns n random bytes in hex.
func RandomHex(tb testing.TB, n int) string {
	tb.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		tb.Fatal(err)
	}
	return hex.EncodeToString(b)
}

func needCgroups(tb testing.TB, format string, args ...any) {
	tb.Helper()
	tb.Logf(format, args...)
	RequireBPF(tb)
	tb.Fatalf("this test needs root and a writable cgroup v2 hierarchy (set MEMSIGHT_SKIP_BPF=1 to skip privilege-dependent tests): "+format, args...)
}
