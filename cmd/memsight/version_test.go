package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

func TestBuildVersionFrom(t *testing.T) {
	vcs := func(rev, modified string) []debug.BuildSetting {
		return []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: rev}, {Key: "vcs.modified", Value: modified}}
	}
	rev := "0123456789abcdef0123456789abcdef01234567"
	for _, tc := range []struct {
		name       string
		stamped    string
		stampedRev string
		bi         *debug.BuildInfo
		want       buildVersion
	}{
		{"make build: the stamp wins", "v0.1.0", "fedcba",
			&debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.0.0-20261201120000-0123456789ab+dirty"}, Settings: vcs(rev, "true")},
			buildVersion{Version: "v0.1.0", Revision: rev, Modified: true, GoVersion: "go1.26.8"}},
		{"make build in a git worktree (no VCS settings): the stamped commit", "v0.1.0", "fedcba",
			&debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}},
			buildVersion{Version: "v0.1.0", Revision: "fedcba", GoVersion: "go1.26.8"}},
		{"go install @v0.1.0: no VCS settings", "", "",
			&debug.BuildInfo{GoVersion: "go1.27.3", Main: debug.Module{Version: "v0.1.0"}},
			buildVersion{Version: "v0.1.0", GoVersion: "go1.27.3"}},
		{"go install @main: the pseudo-version's commit", "", "",
			&debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.1.1-0.20261201120000-0123456789ab"}},
			buildVersion{Version: "v0.1.1-0.20261201120000-0123456789ab", Revision: "0123456789ab", GoVersion: "go1.26.8"}},
		{"go build in a checkout", "", "",
			&debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.0.0-20261201120000-0123456789ab+dirty"}, Settings: vcs(rev, "true")},
			buildVersion{Version: "v0.0.0-20261201120000-0123456789ab+dirty", Revision: rev, Modified: true, GoVersion: "go1.26.8"}},
		{"-buildvcs=false", "", "",
			&debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}},
			buildVersion{Version: "devel", GoVersion: "go1.26.8"}},
		{"no build info", "", "", nil, buildVersion{Version: "devel", GoVersion: runtime.Version()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := buildVersionFrom(tc.stamped, tc.stampedRev, tc.bi); got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
	v := buildVersion{Version: "v0.1.0", GoVersion: "go1.26.8"}
	if got, want := v.String(), "memsight v0.1.0 (revision unknown) go1.26.8 "+runtime.GOOS+"/"+runtime.GOARCH; got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
}

var versionLine = regexp.MustCompile(`^memsight (\S+) \(revision ([0-9a-f]+|unknown)(, modified)?\) (go\S+) (\S+/\S+)\n$`)

// runVersion runs `bin version` and returns the fields of its line.
func runVersion(t *testing.T, bin string) (version, revision string, modified bool) {
	t.Helper()
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		t.Fatalf("%s version: %v", bin, err)
	}
	m := versionLine.FindStringSubmatch(string(out))
	if m == nil {
		t.Fatalf("%s version printed %q, want %s", bin, out, versionLine)
	}
	if m[4] != runtime.Version() {
		t.Errorf("%s version: built with %s, want %s", bin, m[4], runtime.Version())
	}
	return m[1], m[2], m[3] != ""
}

// gitHead returns the commit checked out in dir, or skips the test where
// the source is not a git checkout (a tarball): the build info then has no
// revision to compare.
func gitHead(t *testing.T, dir string) string {
	t.Helper()
	out, err := exec.Command("git", "-C", dir, "rev-parse", "HEAD").Output()
	if err != nil {
		t.Skipf("the source is not a git checkout (git rev-parse HEAD: %v): no revision to compare", err)
	}
	return strings.TrimSpace(string(out))
}

// TestBuildFromCommittedTree is `go install …/cmd/memsight@…` in miniature:
// the committed tree alone (a fresh clone of HEAD, so nothing uncommitted
// or ignored helps), built by the plain go command with no network (every
// module from the cache; no clang, no go generate: the BPF objects are
// committed), reports HEAD's commit, and "modified" once the clone has an
// uncommitted change. go.mod must have no replace or exclude directive,
// which `go install pkg@version` refuses. -buildvcs=true overrides a
// GOFLAGS=-buildvcs=false in the machine's go env (this one has it); the
// go command cannot stamp from a git worktree (.git is a file there), which
// is one more reason to build in a clone.
func TestBuildFromCommittedTree(t *testing.T) {
	t.Parallel()
	head := gitHead(t, ".")
	gomod, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	if d := regexp.MustCompile(`(?m)^(replace|exclude)\b`).Find(gomod); d != nil {
		t.Errorf("go.mod has a %s directive: go install github.com/memsight/memsight/cmd/memsight@version would refuse it", d)
	}

	clone := t.TempDir()
	src, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"init", "--quiet", clone},
		{"-C", clone, "fetch", "--quiet", "--depth=1", "file://" + src, head},
		{"-C", clone, "checkout", "--quiet", "--detach", "FETCH_HEAD"},
	} {
		if out, err := exec.Command("git", args...).CombinedOutput(); err != nil {
			t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	bin := filepath.Join(t.TempDir(), "memsight")
	build := func() {
		t.Helper()
		cmd := exec.Command("go", "build", "-buildvcs=true", "-o", bin, "./cmd/memsight")
		cmd.Dir = clone
		cmd.Env = append(os.Environ(), "GOPROXY=off", "GOFLAGS=-mod=readonly", "GOTOOLCHAIN=local")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build ./cmd/memsight in a clone of HEAD: %v\n%s", err, out)
		}
	}
	build()
	version, rev, modified := runVersion(t, bin)
	if rev != head || modified {
		t.Errorf("clone of HEAD: revision %s modified=%v, want %s, not modified", rev, modified, head)
	}
	if !strings.HasPrefix(version, "v") || !strings.Contains(version, head[:12]) && !regexp.MustCompile(`^v[0-9]+\.[0-9]+\.[0-9]+$`).MatchString(version) {
		t.Errorf("clone of HEAD: version %q, want a tag or a pseudo-version naming %s", version, head[:12])
	}
	t.Logf("a clone of HEAD built with go build: memsight %s, revision %s", version, rev)

	if err := os.WriteFile(filepath.Join(clone, "README.md"), []byte("changed\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	build()
	if _, rev, modified := runVersion(t, bin); rev != head || !modified {
		t.Errorf("clone with a change: revision %s modified=%v, want %s, modified", rev, modified, head)
	}
}
