package leak

import (
	"crypto/sha256"
	"encoding/hex"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// The Go toolchain's own goroutine-leak corpus
// ($GOROOT/src/runtime/testdata/testgoroutineleakprofile) and the leaks its
// test expects (src/runtime/goroutineleakprofile_test.go) are read from the
// toolchain at test time; nothing of them is copied into this repository.
const corpusRel = "src/runtime/testdata/testgoroutineleakprofile"

// corpusCase is one case of the corpus test: its name, whether it is in
// goker/, whether the test runs it with GOMAXPROCS=1 (simple), whether its
// leaks are marked flaky, and the regexps of its expected leaks ("function
// [wait reason]").
type corpusCase struct {
	name   string
	goker  bool
	simple bool
	flaky  bool
	leaks  []*regexp.Regexp
}

// goroot returns the GOROOT of a toolchain.
func goroot(t testing.TB, toolchain string) string {
	t.Helper()
	cmd := exec.Command("go", "env", "GOROOT")
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN="+toolchain)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go env GOROOT (%s): %v", toolchain, err)
	}
	return strings.TrimSpace(string(out))
}

// corpusCases parses the expected leaks out of the toolchain's
// goroutineleakprofile_test.go: every makeTest / makeFlakyTest call, in the
// gokerTestCases list or another.
func corpusCases(t testing.TB, root string) []corpusCase {
	t.Helper()
	path := filepath.Join(root, "src/runtime/goroutineleakprofile_test.go")
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
	if err != nil {
		t.Fatalf("parsing %s: %v", path, err)
	}
	var cases []corpusCase
	ast.Inspect(f, func(n ast.Node) bool {
		as, ok := n.(*ast.AssignStmt)
		if !ok || len(as.Lhs) != 1 || len(as.Rhs) != 1 {
			return true
		}
		id, ok := as.Lhs[0].(*ast.Ident)
		if !ok || !strings.HasSuffix(id.Name, "Cases") && id.Name != "microTests" {
			return true
		}
		ast.Inspect(as.Rhs[0], func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			fn, ok := call.Fun.(*ast.Ident)
			if !ok || (fn.Name != "makeTest" && fn.Name != "makeFlakyTest") || len(call.Args) == 0 {
				return true
			}
			c := corpusCase{goker: id.Name == "gokerTestCases", simple: fn.Name == "makeTest", flaky: fn.Name == "makeFlakyTest"}
			for i, a := range call.Args {
				lit, ok := a.(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					t.Fatalf("%s: non-literal argument of %s", path, fn.Name)
				}
				s, err := strconv.Unquote(lit.Value)
				if err != nil {
					t.Fatal(err)
				}
				if i == 0 {
					c.name = s
				} else {
					c.leaks = append(c.leaks, regexp.MustCompile(s))
				}
			}
			cases = append(cases, c)
			return false
		})
		return false
	})
	if len(cases) < 50 {
		t.Fatalf("%s: only %d cases parsed", path, len(cases))
	}
	return cases
}

// holdSource replaces the corpus programs' profile write: the program says
// LEAKREADY and waits for a line on stdin (the leaks have happened and
// memsight reads it meanwhile), then writes the runtime's goroutineleak
// profile (debug=2: every goroutine, "(leaked)" on the leaked ones)
// between PROFILE-BEGIN and PROFILE-END.
const holdSource = `package main

import (
	"fmt"
	"os"
	"runtime/pprof"
)

// leakHold allocates nothing between LEAKREADY and the profile: a tiny
// allocation could share a 16-byte block with a leaked primitive and make it
// reachable for the runtime but not for memsight, which read before.
func leakHold(prof *pprof.Profile, w *os.File) {
	var b [1]byte
	if os.Getenv("LEAKHOLD_BEFORE") != "" && prof != nil { // debugging: the runtime's verdict before memsight's too
		fmt.Fprintln(w, "PROFILE0-BEGIN")
		prof.WriteTo(w, 2)
		fmt.Fprintln(w, "PROFILE0-END")
	}
	fmt.Fprintln(w, "LEAKREADY")
	for {
		if n, err := os.Stdin.Read(b[:]); err != nil || n == 1 && b[0] == '\n' {
			break
		}
	}
	fmt.Fprintln(w, "PROFILE-BEGIN")
	if prof != nil { // nil: go1.26 without GOEXPERIMENT=goroutineleakprofile
		prof.WriteTo(w, 2)
	}
	fmt.Fprintln(w, "PROFILE-END")
	if os.Getenv("LEAKHOLD_AFTER") != "" { // debugging: hold again
		for {
			if n, err := os.Stdin.Read(b[:]); err != nil || n == 1 && b[0] == '\n' {
				break
			}
		}
	}
}
`

// buildCorpus builds the corpus directory (sub "" or "goker") of the
// toolchain into a program that holds after its leak, cached by the sources
// and toolchain. Go 1.26 needs GOEXPERIMENT=goroutineleakprofile for the
// profile (the runtime's detector is there without it).
func buildCorpus(t testing.TB, toolchain, root, sub string) string {
	return buildCorpusExp(t, toolchain, root, sub, strings.HasPrefix(toolchain, "go1.26"))
}

// buildCorpusExp is buildCorpus choosing GOEXPERIMENT=goroutineleakprofile
// (Go 1.26; without it the program has no goroutineleak profile).
func buildCorpusExp(t testing.TB, toolchain, root, sub string, withExp bool) string {
	t.Helper()
	src := filepath.Join(root, corpusRel, sub)
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{"hold_memsight.go": []byte(holdSource)}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".go") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files[e.Name()] = []byte(strings.ReplaceAll(string(b), "prof.WriteTo(os.Stdout, 2)", "leakHold(prof, os.Stdout)"))
	}
	files["go.mod"] = []byte("module leakcorpus\n\ngo 1.25\n")
	exp := ""
	if withExp {
		exp = "goroutineleakprofile"
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	h := sha256.New()
	h.Write([]byte(toolchain + exp))
	for _, n := range names {
		h.Write([]byte(n))
		h.Write(files[n])
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	out := filepath.Join(cache, "memsight-targets", "leakcorpus-"+toolchain+"-"+strings.ReplaceAll(sub, "/", "")+"-"+hex.EncodeToString(h.Sum(nil)[:6]))
	if _, err := os.Stat(out); err == nil {
		return out
	}
	dir := t.TempDir()
	for n, b := range files {
		if err := os.WriteFile(filepath.Join(dir, n), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		t.Fatal(err)
	}
	tmp := out + ".tmp"
	cmd := exec.Command("go", "build", "-o", tmp, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN="+toolchain, "GOEXPERIMENT="+exp, "CGO_ENABLED=0", "GOFLAGS=-mod=mod", "GOWORK=off")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the leak corpus %q with %s: %v\n%s", sub, toolchain, err, b)
	}
	if err := os.Rename(tmp, out); err != nil {
		t.Fatal(err)
	}
	return out
}

// truthLeak is one goroutine of the runtime's profile.
type truthLeak struct {
	goid   uint64
	reason string
	desc   string // "function [wait reason]", as the corpus test matches
	leaked bool
}

var goroutineHeader = regexp.MustCompile(`^goroutine (\d+)[^\[]*\[([^\]]*)\]:`)

// parseProfile parses a debug=2 goroutine(leak) profile: every goroutine,
// with "(leaked)" in the header of the leaked ones.
func parseProfile(lines []string) []truthLeak {
	var out []truthLeak
	var cur []string
	flush := func() {
		if len(cur) == 0 {
			return
		}
		m := goroutineHeader.FindStringSubmatch(cur[0])
		if m == nil {
			cur = nil
			return
		}
		id, _ := strconv.ParseUint(m[1], 10, 64)
		reason := m[2]
		leaked := strings.Contains(reason, " (leaked)")
		reason = strings.ReplaceAll(reason, " (leaked)", "")
		if i := strings.Index(reason, ", "); i >= 0 {
			reason = reason[:i] // ", 5 minutes"
		}
		fn := ""
		for i := len(cur) - 1; i >= 2; i-- {
			if strings.HasPrefix(cur[i], "created by") {
				fn = strings.TrimPrefix(cur[i-2], "main.")
				break
			}
		}
		out = append(out, truthLeak{goid: id, reason: reason, desc: fn + " [" + reason + "]", leaked: leaked})
		cur = nil
	}
	for _, l := range lines {
		if strings.TrimSpace(l) == "" {
			flush()
			continue
		}
		cur = append(cur, l)
	}
	flush()
	return out
}
