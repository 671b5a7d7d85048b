package goexe

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"testing"

	"github.com/memsight/memsight/pkg/testutil"
)

// maxRetainedPerBinary is the bound on the anonymous memory goexe keeps for
// one inspected executable, whatever its size (issue 10).
const maxRetainedPerBinary = 2 << 20

// TestCacheMemoryPerBinary opens several copies (distinct inodes, so
// distinct cache keys) of a large Go executable through a Cache and checks
// the growth of the process's anonymous memory per copy. The executable is
// memsight itself (about 30 MB with DWARF), or MEMSIGHT_BIG_EXE.
func TestCacheMemoryPerBinary(t *testing.T) {
	exe := os.Getenv("MEMSIGHT_BIG_EXE")
	if exe == "" {
		exe = bigExecutable(t)
	}
	const copies = 4
	proc := fakeProc(t, exe, copies+1)
	// Warm up with copy 0 in a cache of its own: the first inspection
	// initializes state shared by all (the decoders' tables, ...).
	warm := NewCache(1)
	if _, err := warm.ForPID(1, proc); err != nil {
		t.Fatal(err)
	}
	warm.Close()

	before := rssAnon(t)
	c := NewCache(copies)
	defer c.Close()
	var held []*Binary
	for i := 1; i <= copies; i++ {
		b, err := c.ForPID(i+1, proc)
		if err != nil {
			t.Fatal(err)
		}
		// Use it as the unwinder does.
		for _, name := range []string{"runtime.goexit", "runtime.mcall", "runtime.gcBgMarkWorker"} {
			for _, f := range b.FuncsNamed(name) {
				b.Frames(f.Entry+1, true)
				b.SPDelta(f.Entry + 1)
			}
		}
		held = append(held, b)
	}
	after := rssAnon(t)
	per := (after - before) / copies
	t.Logf("%s: RssAnon %d KiB before, %d KiB after %d binaries: %d KiB per binary (the cache counts %d KiB)",
		filepath.Base(exe), before>>10, after>>10, copies, per>>10, c.Bytes()/copies>>10)
	if per > maxRetainedPerBinary {
		t.Errorf("goexe keeps %d KiB of anonymous memory per executable, over the %d KiB bound", per>>10, maxRetainedPerBinary>>10)
	}
	runtime.KeepAlive(held)
}

// fakeProc makes n copies of exe (distinct inodes) and a proc root where
// <root>/<pid>/exe links to copy pid-1, for Cache.ForPID.
func fakeProc(t *testing.T, exe string, n int) string {
	t.Helper()
	root := t.TempDir()
	for i := range n {
		path := filepath.Join(root, "exe", strconv.Itoa(i))
		dir := filepath.Join(root, "proc", strconv.Itoa(i+1))
		for _, d := range []string{filepath.Dir(path), dir} {
			if err := os.MkdirAll(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		copyFile(t, exe, path)
		if err := os.Symlink(path, filepath.Join(dir, "exe")); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(root, "proc")
}

// rssAnon returns the process's RssAnon in bytes after a full GC that
// returns freed memory to the OS.
func rssAnon(t *testing.T) int64 {
	t.Helper()
	runtime.GC()
	debug.FreeOSMemory()
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "RssAnon:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no RssAnon in /proc/self/status")
	return 0
}

// bigExecutable builds ./cmd/memsight (with DWARF) once per toolchain and
// caches it: any large Go program will do, this one is at hand.
func bigExecutable(t *testing.T) string {
	t.Helper()
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	out := filepath.Join(cache, "memsight-targets", "memsight-big-"+testutil.GoInstalled)
	if _, err := os.Stat(out); err == nil {
		return out
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		t.Fatal(err)
	}
	tmp := out + ".tmp" + strconv.Itoa(os.Getpid())
	cmd := exec.Command("go", "build", "-o", tmp, "./cmd/memsight")
	cmd.Dir = testutil.RepoRoot(t)
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN="+testutil.GoInstalled, "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building cmd/memsight: %v\n%s", err, b)
	}
	if err := os.Rename(tmp, out); err != nil {
		t.Fatal(err)
	}
	return out
}
