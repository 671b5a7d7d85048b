package goexe

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/memsight/memsight/pkg/testutil"
)

// buildCross builds testdata/targets/idle for another GOARCH (testutil builds
// for the host only), cached next to testutil's builds.
func buildCross(t *testing.T, toolchain, goarch string, pie bool) string {
	t.Helper()
	src := filepath.Join(testutil.RepoRoot(t), "testdata", "targets", "idle")
	main, err := os.ReadFile(filepath.Join(src, "main.go"))
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(fmt.Appendf(main, "%s/%s/%v", toolchain, goarch, pie))
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	out := filepath.Join(cache, "memsight-targets", fmt.Sprintf("idle-%s-%s-pie%v-%s", toolchain, goarch, pie, hex.EncodeToString(h[:6])))
	if _, err := os.Stat(out); err == nil {
		return out
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		t.Fatal(err)
	}
	tmp := fmt.Sprintf("%s.tmp%d", out, os.Getpid())
	args := []string{"build", "-o", tmp}
	if pie {
		args = append(args, "-buildmode=pie")
	}
	cmd := exec.Command("go", append(args, ".")...)
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN="+toolchain, "GOARCH="+goarch, "CGO_ENABLED=0", "GOFLAGS=-mod=mod", "GOWORK=off")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cross-building idle for %s (%s): %v\n%s", goarch, toolchain, err, b)
	}
	if err := os.Rename(tmp, out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestOpenARM64 checks the arm64 decoder and probe location on cross-built
// binaries against objdump, which disassembles any architecture.
func TestOpenARM64(t *testing.T) {
	for _, tc := range []string{testutil.GoInstalled, testutil.GoNext} {
		for _, pie := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/pie=%v", tc, pie), func(t *testing.T) {
				t.Parallel()
				path := buildCross(t, tc, "arm64", pie)
				b, err := Open(path)
				if err != nil {
					t.Fatal(err)
				}
				defer b.Close()
				if b.Arch != ARM64 || b.PIE != pie || !b.Attachable || len(b.Probes.Missing) != 0 {
					t.Fatalf("Arch %s PIE %v Attachable %v (%s) Missing %v", b.Arch, b.PIE, b.Attachable, b.Reason, b.Probes.Missing)
				}
				file, err := os.ReadFile(path)
				if err != nil {
					t.Fatal(err)
				}
				checkProbesAgainstObjdump(t, b, objdump(t, ARM64, tc, path, probedFuncs), file)
				if want, ok := nmAddr(t, tc, path, "runtime.text"); !ok || want != b.TextStart {
					t.Errorf("TextStart %#x, nm runtime.text %#x", b.TextStart, want)
				}
				// The arm64 STW functions have the large-frame prologue
				// (SUB $n, RSP, R17) against stackguard1 (24(R28)).
				if got := b.Probes.STWStop.Entry.Inst; got != "MOVD 24(R28), R16" {
					t.Errorf("stopTheWorldWithSema entry %q", got)
				}
			})
		}
	}
}
