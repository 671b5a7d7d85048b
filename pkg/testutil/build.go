package testutil

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
)

// Toolchains the test matrix covers. The first is the installed one; the
// second is fetched by the go command (GOTOOLCHAIN).
const (
	GoInstalled = "go1.26.8"
	GoNext      = "go1.27.3"
)

// Mode is a build mode of the test matrix.
type Mode string

// Build modes.
const (
	Default  Mode = "default"
	Stripped Mode = "stripped" // -ldflags='-s -w'
	PIE      Mode = "pie"      // -buildmode=pie
	CGO      Mode = "cgo"      // CGO_ENABLED=1, -linkmode=external
	Trimpath Mode = "trimpath" // -trimpath
)

// AllModes lists every build mode.
var AllModes = []Mode{Default, Stripped, PIE, CGO, Trimpath}

// Variant is one cell of the build matrix.
type Variant struct {
	Toolchain string // GoInstalled or GoNext
	Mode      Mode
}

func (v Variant) String() string { return v.Toolchain + "/" + string(v.Mode) }

// Matrix returns every (toolchain, mode) combination for the given modes
// (all modes when none is given).
func Matrix(modes ...Mode) []Variant {
	if len(modes) == 0 {
		modes = AllModes
	}
	var vs []Variant
	for _, tc := range []string{GoInstalled, GoNext} {
		for _, m := range modes {
			vs = append(vs, Variant{tc, m})
		}
	}
	return vs
}

// RepoRoot returns the repository root (the directory holding go.mod).
func RepoRoot(tb testing.TB) string {
	tb.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

var buildMu sync.Mutex

// BuildTarget builds testdata/targets/<name> for the variant and returns the
// path of the executable. Builds are cached across test runs by a hash of the
// sources and the variant.
func BuildTarget(tb testing.TB, name string, v Variant) string {
	tb.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	src := filepath.Join(RepoRoot(tb), "testdata", "targets", name)
	sum, err := hashDir(src)
	if err != nil {
		tb.Fatalf("hashing target %s: %v", name, err)
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "memsight-targets")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		tb.Fatalf("creating build cache: %v", err)
	}
	h := sha256.Sum256([]byte(sum + v.String()))
	out := filepath.Join(dir, fmt.Sprintf("%s-%s-%s-%s", name, v.Toolchain, v.Mode, hex.EncodeToString(h[:6])))
	if _, err := os.Stat(out); err == nil {
		return out
	}
	tmp := out + ".tmp" + fmt.Sprint(os.Getpid())
	args := []string{"build", "-o", tmp}
	env := append(os.Environ(), "GOTOOLCHAIN="+v.Toolchain, "GOFLAGS=-mod=mod", "GOWORK=off")
	switch v.Mode {
	case Default:
		env = append(env, "CGO_ENABLED=0")
	case Stripped:
		env = append(env, "CGO_ENABLED=0")
		args = append(args, "-ldflags=-s -w")
	case PIE:
		env = append(env, "CGO_ENABLED=0")
		args = append(args, "-buildmode=pie")
	case CGO:
		env = append(env, "CGO_ENABLED=1")
		args = append(args, "-ldflags=-linkmode=external")
	case Trimpath:
		env = append(env, "CGO_ENABLED=0")
		args = append(args, "-trimpath")
	default:
		tb.Fatalf("unknown mode %q", v.Mode)
	}
	args = append(args, ".")
	cmd := exec.Command("go", args...)
	cmd.Dir = src
	cmd.Env = env
	if b, err := cmd.CombinedOutput(); err != nil {
		tb.Fatalf("building target %s (%s): %v\n%s", name, v, err, b)
	}
	if err := os.Rename(tmp, out); err != nil {
		tb.Fatalf("renaming built target: %v", err)
	}
	return out
}

func hashDir(dir string) (string, error) {
	var names []string
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if !fi.IsDir() {
			names = append(names, p)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	sort.Strings(names)
	h := sha256.New()
	for _, n := range names {
		f, err := os.Open(n)
		if err != nil {
			return "", err
		}
		io.WriteString(h, strings.TrimPrefix(n, dir))
		_, err = io.Copy(h, f)
		f.Close()
		if err != nil {
			return "", err
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
