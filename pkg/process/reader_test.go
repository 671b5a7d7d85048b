package process

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"testing"
	"time"
)

func fixtureReader(t *testing.T) *Reader {
	t.Helper()
	r, err := New(Config{ProcRoot: filepath.Join("testdata", "proc")})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestGetFixture(t *testing.T) {
	r := fixtureReader(t)
	p, err := r.Get(4242)
	if err != nil {
		t.Fatal(err)
	}
	want := Process{
		PID: 4242, PPID: 1, Comm: "fixture (app)",
		Exe:     "/usr/local/bin/fixture-app (deleted)",
		Cmdline: []string{"/usr/local/bin/fixture-app", "--listen", ":8080"},
		UID:     1001, StartTime: time.Unix(1700000000+2500, 0),
		RSS: 20000 << 10, RssAnon: 12000 << 10, RssFile: 7000 << 10, RssShmem: 1000 << 10, VmHWM: 30000 << 10,
		Threads: 7, FDs: 4,
		CgroupPath:       "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" + fixPodU + ".slice/cri-containerd-" + fixCID + ".scope",
		ContainerID:      fixCID,
		PodUID:           fixPod,
		ContainerRuntime: "containerd",
	}
	if !p.StartTime.Equal(want.StartTime) {
		t.Errorf("StartTime = %v, want %v", p.StartTime, want.StartTime)
	}
	p.StartTime = want.StartTime
	if !reflect.DeepEqual(p, want) {
		t.Errorf("Get(4242):\n got  %+v\n want %+v", p, want)
	}

	m, err := r.Memory(4242)
	if err != nil {
		t.Fatal(err)
	}
	wantM := Memory{RSS: want.RSS, RssAnon: want.RssAnon, RssFile: want.RssFile, RssShmem: want.RssShmem, VmHWM: want.VmHWM, Threads: 7, FDs: 4}
	if m != wantM {
		t.Errorf("Memory(4242) = %+v, want %+v", m, wantM)
	}

	// 4245 is a thread of 4242; 2 is a kernel thread (Get returns it, List skips it).
	if _, err := r.Get(4245); !errors.Is(err, ErrNoProcess) {
		t.Errorf("Get(thread 4245) = %v, want ErrNoProcess", err)
	}
	if k, err := r.Get(2); err != nil || k.Comm != "kthreadd" {
		t.Errorf("Get(2) = %+v, %v; want kthreadd", k, err)
	}
	for _, pid := range []int{31337, 0, -1} {
		if _, err := r.Get(pid); !errors.Is(err, ErrNoProcess) {
			t.Errorf("Get(%d) = %v, want ErrNoProcess", pid, err)
		}
		if _, err := r.Memory(pid); !errors.Is(err, ErrNoProcess) {
			t.Errorf("Memory(%d) = %v, want ErrNoProcess", pid, err)
		}
	}

	ps, err := r.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 1 || ps[0].PID != 4242 {
		t.Errorf("List = %+v, want only 4242", ps)
	}
}

func TestNewWithoutBootTime(t *testing.T) {
	dir := t.TempDir()
	if _, err := New(Config{ProcRoot: dir}); err == nil {
		t.Error("New on a directory without stat succeeded")
	}
	if err := os.WriteFile(filepath.Join(dir, "stat"), []byte("cpu 1 2 3 4\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Config{ProcRoot: dir}); err == nil {
		t.Error("New with a stat without btime succeeded")
	}
}

func TestListRealProcesses(t *testing.T) {
	r := newReader(t)
	exe := buildSelfaddr(t, false)
	before := time.Now()
	tg := startSelfaddr(t, exe, "-alloc", "32", "-files", "5")

	ps, err := r.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	find := func(pid int) Process {
		t.Helper()
		i := slices.IndexFunc(ps, func(p Process) bool { return p.PID == pid })
		if i < 0 {
			t.Fatalf("pid %d not in List (%d processes)", pid, len(ps))
		}
		return ps[i]
	}
	if !slices.IsSortedFunc(ps, func(a, b Process) int { return a.PID - b.PID }) {
		t.Error("List is not sorted by PID")
	}

	self := find(os.Getpid())
	selfExe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	if self.Exe != selfExe || self.RSS == 0 || self.Threads < 1 || self.FDs < 3 || self.UID != os.Geteuid() || self.PPID != os.Getppid() {
		t.Errorf("self = %+v", self)
	}

	c := find(tg.Pid)
	tasks, err := os.ReadDir("/proc/" + strconv.Itoa(tg.Pid) + "/task")
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case c.PPID != os.Getpid(), c.Comm != "selfaddr", c.Exe != exe, c.UID != os.Geteuid():
		t.Errorf("child identity: %+v", c)
	case !slices.Equal(c.Cmdline, []string{exe, "-alloc", "32", "-files", "5"}):
		t.Errorf("child Cmdline = %q", c.Cmdline)
	case c.RSS == 0 || c.RssAnon < tg.alloc || c.RSS < c.RssAnon+c.RssFile || c.VmHWM < c.RSS:
		t.Errorf("child memory: RSS %d anon %d file %d shmem %d hwm %d; it touched %d bytes",
			c.RSS, c.RssAnon, c.RssFile, c.RssShmem, c.VmHWM, tg.alloc)
	case c.Threads < 2 || c.Threads > len(tasks)+2 || c.Threads < len(tasks)-2:
		t.Errorf("child Threads = %d, /proc/PID/task has %d", c.Threads, len(tasks))
	case c.FDs < 3+tg.files:
		t.Errorf("child FDs = %d, want at least stdio + %d", c.FDs, tg.files)
	case c.StartTime.Before(before.Add(-2*time.Second)) || c.StartTime.After(time.Now().Add(2*time.Second)):
		t.Errorf("child StartTime = %v, started around %v", c.StartTime, before)
	}
	cg, err := os.ReadFile("/proc/" + strconv.Itoa(tg.Pid) + "/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	if path, _, _, _ := ParseCgroup(string(cg)); c.CgroupPath != path {
		t.Errorf("child CgroupPath = %q, ParseCgroup says %q", c.CgroupPath, path)
	}

	g, err := r.Get(tg.Pid)
	if err != nil {
		t.Fatal(err)
	}
	if g.PID != c.PID || g.Exe != c.Exe || !g.StartTime.Equal(c.StartTime) {
		t.Errorf("Get = %+v, List had %+v", g, c)
	}

	// Kernel threads (kthreadd is PID 2 outside a PID namespace) are not listed.
	if k, err := r.Get(2); err == nil && k.Comm == "kthreadd" {
		if slices.ContainsFunc(ps, func(p Process) bool { return p.PID == 2 }) {
			t.Error("List includes kthreadd")
		}
	}
}

func TestMemoryTracksSelf(t *testing.T) {
	r := newReader(t)
	m0, err := r.Memory(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	const size = 64 << 20
	buf := make([]byte, size)
	for i := 0; i < len(buf); i += 4096 {
		buf[i] = 1
	}
	var files []*os.File
	for range 5 {
		f, err := os.Open(os.DevNull)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		files = append(files, f)
	}
	m1, err := r.Memory(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	runtime.KeepAlive(buf)
	if m1.RssAnon < m0.RssAnon+size*3/4 {
		t.Errorf("RssAnon %d -> %d after touching %d bytes", m0.RssAnon, m1.RssAnon, size)
	}
	if m1.FDs < m0.FDs+len(files) {
		t.Errorf("FDs %d -> %d after opening %d files", m0.FDs, m1.FDs, len(files))
	}
	if m1.Threads < 1 || m1.VmHWM < m1.RSS {
		t.Errorf("Memory = %+v", m1)
	}
}

func TestGetDeadAndNonProcesses(t *testing.T) {
	r := newReader(t)
	dead := deadPID(t)
	for _, pid := range []int{dead, 0, -1} {
		if _, err := r.Get(pid); !errors.Is(err, ErrNoProcess) {
			t.Errorf("Get(%d) = %v, want ErrNoProcess", pid, err)
		}
		if _, err := r.Memory(pid); !errors.Is(err, ErrNoProcess) {
			t.Errorf("Memory(%d) = %v, want ErrNoProcess", pid, err)
		}
		if _, _, err := r.ExeKey(pid); !errors.Is(err, ErrNoProcess) {
			t.Errorf("ExeKey(%d) = %v, want ErrNoProcess", pid, err)
		}
		if _, err := r.ExeMappings(pid); !errors.Is(err, ErrNoProcess) {
			t.Errorf("ExeMappings(%d) = %v, want ErrNoProcess", pid, err)
		}
	}

	// A thread ID reaches /proc/TID, but it is not a process.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range tasks {
		tid, _ := strconv.Atoi(e.Name())
		if tid == os.Getpid() {
			continue
		}
		if _, err := r.Get(tid); !errors.Is(err, ErrNoProcess) {
			t.Errorf("Get(thread %d) = %v, want ErrNoProcess", tid, err)
		}
		break
	}
}
