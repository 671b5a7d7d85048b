package goexe

import (
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/memsight/memsight/pkg/testutil"
)

// startIdle starts a copy of the idle target (so the test owns its inode)
// and waits until it is ready.
func startIdle(t *testing.T, exe string) *testutil.Target {
	t.Helper()
	p := testutil.StartTarget(t, exe)
	p.WaitLine(t, "READY ", 30*time.Second)
	return p
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestCacheForPID(t *testing.T) {
	built := testutil.BuildTarget(t, "idle", testutil.Variant{Toolchain: testutil.GoInstalled, Mode: testutil.Stripped})
	dir := t.TempDir()
	exeA, exeB := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	copyFile(t, built, exeA)
	copyFile(t, built, exeB) // same build ID, other inode
	a1, a2, b1 := startIdle(t, exeA), startIdle(t, exeA), startIdle(t, exeB)

	c := NewCache(8)
	defer c.Close()

	// Concurrent lookups of two processes of one file: one parse.
	var wg sync.WaitGroup
	got := make([]*Binary, 8)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pid := a1.Pid
			if i%2 == 1 {
				pid = a2.Pid
			}
			b, err := c.ForPID(pid, "")
			if err != nil {
				t.Error(err)
			}
			got[i] = b
		}()
	}
	wg.Wait()
	for _, b := range got {
		if b != got[0] {
			t.Fatal("processes of one executable got different Binaries")
		}
	}
	a := got[0]
	if a.Path != exeA || !a.Attachable || a.Key.Ino == 0 || a.Key.BuildID == "" {
		t.Errorf("Path %q Attachable %v Key %+v", a.Path, a.Attachable, a.Key)
	}
	b, err := c.ForPID(b1.Pid, "")
	if err != nil {
		t.Fatal(err)
	}
	if b == a || b.Key.BuildID != a.Key.BuildID || b.Key.Ino == a.Key.Ino {
		t.Errorf("copy with another inode: %+v vs %+v", b.Key, a.Key)
	}
	if c.Len() != 2 {
		t.Errorf("Len %d, want 2", c.Len())
	}

	// A deleted executable is still readable through /proc/PID/exe.
	if err := os.Remove(exeB); err != nil {
		t.Fatal(err)
	}
	c2 := NewCache(1)
	defer c2.Close()
	d, err := c2.ForPID(b1.Pid, "")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(d.Path, " (deleted)") || !d.Attachable || d.Key != b.Key {
		t.Errorf("deleted: Path %q Attachable %v", d.Path, d.Attachable)
	}
	// max 1: looking up another binary evicts it.
	if _, err := c2.ForPID(a1.Pid, ""); err != nil {
		t.Fatal(err)
	}
	if c2.Len() != 1 {
		t.Errorf("Len %d after eviction", c2.Len())
	}
	if d2, _ := c2.ForPID(b1.Pid, ""); d2 == d {
		t.Error("evicted binary returned again")
	}
}

func TestCacheNotGo(t *testing.T) {
	cmd := exec.Command("/bin/sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	c := NewCache(4)
	for range 2 {
		b, err := c.ForPID(cmd.Process.Pid, "")
		if b != nil || !errors.Is(err, ErrNotGo) {
			t.Fatalf("ForPID(sleep) = %v, %v", b, err)
		}
	}
	if c.Len() != 1 {
		t.Errorf("the failure was not cached: Len %d", c.Len())
	}
	if _, err := c.ForPID(1<<30, ""); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ForPID(no such pid) = %v", err)
	}
	if _, err := c.ForPID(os.Getpid(), t.TempDir()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ForPID with an empty proc root = %v", err)
	}
}

func TestCacheByteBound(t *testing.T) {
	exe := testutil.BuildTarget(t, "idle", testutil.Variant{Toolchain: testutil.GoInstalled, Mode: testutil.Default})
	proc := fakeProc(t, exe, 3)
	one := NewCache(8)
	defer one.Close()
	if _, err := one.ForPID(1, proc); err != nil {
		t.Fatal(err)
	}
	size := one.Bytes()
	if size < 64<<10 || size > 2<<20 {
		t.Fatalf("one binary counts %d bytes", size)
	}
	for _, tc := range []struct {
		maxBytes int64
		want     int
	}{{size*2 + size/2, 2}, {size / 2, 1}, {size * 10, 3}} {
		c := NewCacheLimits(8, tc.maxBytes)
		for pid := 1; pid <= 3; pid++ {
			if _, err := c.ForPID(pid, proc); err != nil {
				t.Fatal(err)
			}
		}
		if c.Len() != tc.want || (tc.want > 1 && c.Bytes() > tc.maxBytes) {
			t.Errorf("max %d bytes: %d binaries, %d bytes, want %d binaries", tc.maxBytes, c.Len(), c.Bytes(), tc.want)
		}
		c.Close()
		if c.Bytes() != 0 {
			t.Errorf("%d bytes after Close", c.Bytes())
		}
	}
}
