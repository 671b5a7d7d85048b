package config

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// configMap lays out a directory like a Kubernetes ConfigMap volume:
// dir/memsight.yaml -> ..data/memsight.yaml, ..data -> ..<version>.
type configMap struct {
	t   *testing.T
	dir string
	n   int
}

func (c *configMap) write(doc string) {
	c.t.Helper()
	c.n++
	ver := filepath.Join(c.dir, "..v"+string(rune('0'+c.n)))
	if err := os.Mkdir(ver, 0o755); err != nil {
		c.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ver, "memsight.yaml"), []byte(doc), 0o644); err != nil {
		c.t.Fatal(err)
	}
	// The atomic swap: a new symlink renamed over ..data.
	tmp := filepath.Join(c.dir, "..data_tmp")
	if err := os.Symlink(filepath.Base(ver), tmp); err != nil {
		c.t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(c.dir, "..data")); err != nil {
		c.t.Fatal(err)
	}
	if c.n == 1 {
		if err := os.Symlink("..data/memsight.yaml", filepath.Join(c.dir, "memsight.yaml")); err != nil {
			c.t.Fatal(err)
		}
	}
}

func TestWatcherConfigMapSwapAndSIGHUP(t *testing.T) {
	cm := &configMap{t: t, dir: t.TempDir()}
	cm.write("thresholds:\n  stall_threshold: 2s\n")
	path := filepath.Join(cm.dir, "memsight.yaml")

	var mu sync.Mutex
	var applied []time.Duration
	hup := make(chan os.Signal, 1)
	w, err := NewWatcher(WatcherConfig{Path: path, Poll: 20 * time.Millisecond, Reload: hup, Apply: func(f *File) error {
		s, err := Resolve(f, "")
		if err != nil {
			return err
		}
		mu.Lock()
		applied = append(applied, s.Detect.StallThreshold)
		mu.Unlock()
		return nil
	}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { w.Run(ctx) })
	defer func() { cancel(); wg.Wait() }()
	got := func() []time.Duration { mu.Lock(); defer mu.Unlock(); return append([]time.Duration{}, applied...) }
	wait := func(what string, ok func() bool) {
		t.Helper()
		start := time.Now()
		for !ok() {
			if time.Since(start) > 5*time.Second {
				t.Fatalf("no %s within 5s (applied %v)", what, got())
			}
			time.Sleep(5 * time.Millisecond)
		}
		t.Logf("%s after %v", what, time.Since(start).Round(time.Millisecond))
	}
	time.Sleep(60 * time.Millisecond)
	if a := got(); len(a) != 0 {
		t.Fatalf("unchanged file applied: %v", a)
	}

	cm.write("thresholds:\n  stall_threshold: 7s\n")
	wait("reload after the ..data swap", func() bool { a := got(); return len(a) == 1 && a[0] == 7*time.Second })

	ok0 := testutil.ToFloat64(w.success)
	cm.write("thresholds:\n  stall_threshold: -1s\n")
	wait("rejection of an invalid file", func() bool { return testutil.ToFloat64(w.failures) == 1 })
	time.Sleep(60 * time.Millisecond) // polled again: reported once per content
	if n := testutil.ToFloat64(w.failures); n != 1 || len(got()) != 1 || testutil.ToFloat64(w.success) != ok0 || testutil.ToFloat64(w.ok) != 0 {
		t.Fatalf("after an invalid file: %v failures, applied %v, last reload successful %v", n, got(), testutil.ToFloat64(w.ok))
	}

	cm.write("thresholds:\n  stall_threshold: 3s\n")
	wait("reload of a fixed file", func() bool { return len(got()) == 2 })
	if v := testutil.ToFloat64(w.ok); v != 1 {
		t.Fatalf("after a fixed file: last reload successful %v", v)
	}
	hup <- syscall.SIGHUP
	wait("reload on SIGHUP of an unchanged file", func() bool { return len(got()) == 3 })
	if a := got(); a[1] != 3*time.Second || a[2] != 3*time.Second {
		t.Fatalf("applied %v", a)
	}
}

func TestWatcherApplyError(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(path, []byte("listen: :1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	w, err := NewWatcher(WatcherConfig{Path: path, Apply: func(*File) error { return errors.New("no") }})
	if err != nil {
		t.Fatal(err)
	}
	w.check(true)
	if n := testutil.ToFloat64(w.failures); n != 1 {
		t.Fatalf("failures %v after a rejected Apply", n)
	}
}

// TestWatcherSecretFiles: a change of a file the config names (a rotated
// Secret behind webhook.secret_file or url_file) reloads the config.
func TestWatcherSecretFiles(t *testing.T) {
	dir := t.TempDir()
	secret := filepath.Join(dir, "secret")
	if err := os.WriteFile(secret, []byte("one"), 0o600); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "c.yaml")
	if err := os.WriteFile(path, []byte("webhook:\n  url: http://127.0.0.1:1/\n  secret_file: "+secret+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var got []string
	w, err := NewWatcher(WatcherConfig{Path: path, Apply: func(f *File) error {
		s, err := Resolve(f, "")
		if err == nil {
			got = append(got, string(s.Webhook.Secret))
		}
		return err
	}})
	if err != nil {
		t.Fatal(err)
	}
	w.check(false)
	if len(got) != 0 {
		t.Fatalf("nothing changed, applied %v", got)
	}
	if err := os.WriteFile(secret, []byte("two"), 0o600); err != nil {
		t.Fatal(err)
	}
	w.check(false)
	w.check(false)
	if len(got) != 1 || got[0] != "two" {
		t.Fatalf("after the secret changed: applied %v, want [two] once", got)
	}
	if err := os.Remove(secret); err != nil {
		t.Fatal(err)
	}
	w.check(false)
	w.check(false)
	if n := testutil.ToFloat64(w.failures); n != 1 || testutil.ToFloat64(w.ok) != 0 {
		t.Fatalf("after the secret vanished: %v failures, last reload successful %v", n, testutil.ToFloat64(w.ok))
	}
}
