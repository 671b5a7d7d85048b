package goexe

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/memsight/memsight/pkg/testutil"
)

// openTarget builds and opens a test target.
func openTarget(t *testing.T, name string, v testutil.Variant) *Binary {
	t.Helper()
	b, err := Open(testutil.BuildTarget(t, name, v))
	if err != nil {
		t.Fatalf("%s: %v", v, err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// openCross builds a target for another architecture (default mode), cached
// like testutil.BuildTarget, and opens it.
func openCross(t *testing.T, name, toolchain string, arch Arch) *Binary {
	t.Helper()
	src := filepath.Join(testutil.RepoRoot(t), "testdata", "targets", name)
	main, err := os.ReadFile(filepath.Join(src, "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	h := sha256.Sum256(append(main, []byte(toolchain+string(arch))...))
	out := filepath.Join(cache, "memsight-targets", name+"-"+toolchain+"-"+string(arch)+"-"+hex.EncodeToString(h[:6]))
	if _, err := os.Stat(out); err != nil {
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			t.Fatal(err)
		}
		tmp := out + ".tmp"
		cmd := exec.Command("go", "build", "-o", tmp, ".")
		cmd.Dir = src
		cmd.Env = append(os.Environ(), "GOTOOLCHAIN="+toolchain, "GOARCH="+string(arch), "CGO_ENABLED=0", "GOFLAGS=-mod=mod", "GOWORK=off")
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("building %s for %s/%s: %v\n%s", name, toolchain, arch, err, b)
		}
		if err := os.Rename(tmp, out); err != nil {
			t.Fatal(err)
		}
	}
	b, err := Open(out)
	if err != nil {
		t.Fatalf("%s/%s: %v", toolchain, arch, err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}
