package heapprof

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/memsight/memsight/pkg/goexe"
	"github.com/memsight/memsight/pkg/testutil"
)

// TestDecodeCycle: on binaries with .symtab, the address decodeCycle finds
// for runtime.mProfCycle (what stripped binaries rely on) is the symbol's,
// on amd64 and arm64 for both toolchains; the layout has what Read needs.
func TestDecodeCycle(t *testing.T) {
	for _, tc := range []string{testutil.GoInstalled, testutil.GoNext} {
		for _, arch := range []goexe.Arch{goexe.AMD64, goexe.ARM64} {
			t.Run(tc+"/"+string(arch), func(t *testing.T) {
				b := openArch(t, "heapleak", tc, arch)
				want, _, ok := b.Symbol("runtime.mProfCycle")
				if !ok || want == 0 {
					t.Fatal("runtime.mProfCycle not in .symtab")
				}
				got, err := decodeCycle(b)
				if err != nil {
					t.Fatal(err)
				}
				if got != want {
					t.Errorf("decoded %#x, symtab %#x", got, want)
				}
				l, err := newRecLayout(b)
				if err != nil {
					t.Fatal(err)
				}
				if wantBytes := tc == testutil.GoInstalled; l.hasBytes != wantBytes {
					t.Errorf("memRecordCycle with bytes: %v, want %v", l.hasBytes, wantBytes)
				}
				if !b.Globals.MBuckets.Known() || !b.Globals.MemProfileRate.Known() {
					t.Errorf("globals: mbuckets %+v, MemProfileRate %+v", b.Globals.MBuckets, b.Globals.MemProfileRate)
				}
			})
		}
	}
}

// openArch builds a target in the default mode for an architecture, cached
// like testutil.BuildTarget, and opens it.
func openArch(t *testing.T, name, toolchain string, arch goexe.Arch) *goexe.Binary {
	t.Helper()
	var exe string
	if arch == goexe.AMD64 {
		exe = testutil.BuildTarget(t, name, testutil.Variant{Toolchain: toolchain, Mode: testutil.Default})
	} else {
		exe = crossBuild(t, name, toolchain, arch)
	}
	b, err := goexe.Open(exe)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func crossBuild(t *testing.T, name, toolchain string, arch goexe.Arch) string {
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
	if _, err := os.Stat(out); err == nil {
		return out
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		t.Fatal(err)
	}
	tmp := out + ".tmp" + filepath.Base(t.TempDir())
	cmd := exec.Command("go", "build", "-o", tmp, ".")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN="+toolchain, "GOARCH="+string(arch), "CGO_ENABLED=0", "GOFLAGS=-mod=mod", "GOWORK=off")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building %s for %s/%s: %v\n%s", name, toolchain, arch, err, b)
	}
	if err := os.Rename(tmp, out); err != nil {
		t.Fatal(err)
	}
	return out
}
