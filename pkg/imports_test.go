// Package pkg_test checks how memsight's packages depend on each other: the
// folder list reads as the pipeline (inspect the binary → attach probes →
// read runtime state → per-process model → findings → exporters), and a
// package may only import packages of earlier stages; the data the stages
// hand to the outputs is pkg/model, a leaf; and the outputs do not link,
// even indirectly, anything that attaches probes or reads memory.
package pkg_test

import (
	"encoding/json"
	"errors"
	"io"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/memsight/memsight/"

// stages ranks every package of the module. A package may import packages
// of a strictly lower stage only (a package of its own stage is "sideways").
// A new package must be added here. Stages are ordered numbers: a package
// that builds on another of the same kind sits between two stages.
var stages = map[string]float64{
	// The data model every stage fills and the outputs read: a leaf.
	"pkg/model": 0,
	// Facts about the machine and the target, no BPF, no runtime knowledge.
	"pkg/process":                    0,
	"pkg/procmem":                    0.5, // its sentinel errors are pkg/process's
	"pkg/goexe/internal/pclntab":     0,
	"pkg/goexe/internal/dwarfstruct": 0,
	"pkg/goexe":                      1,
	"pkg/goexe/internal/layoutgen":   2,
	"pkg/preflight":                  2,
	"pkg/testutil":                   0,
	// Attach probes, read runtime state.
	"pkg/probe":     2,
	"pkg/goruntime": 2,
	"pkg/heapprof":  2,
	// The goroutine-leak verdict builds on pkg/goruntime's stack walks.
	"pkg/goruntime/leak": 2.5,
	// One way to open a process: /proc, the executable, the memory, the
	// runtime decoder.
	"pkg/target": 2.7,
	// The per-process model and the findings.
	"pkg/observe":  3,
	"pkg/profiles": 3,
	"pkg/detect":   4,
	// The node agent and its configuration.
	"pkg/config": 5,
	"pkg/agent":  5,
	// Outputs and integrations; the HTTP exporters' retry loop first.
	"pkg/export/internal/retry": 5.9,
	"pkg/kube":                  6,
	"pkg/export/api":            6,
	"pkg/export/prom":           6,
	"pkg/export/webhook":        6,
	"pkg/export/web":            6,
	"pkg/export/pyroscope":      6,
	"pkg/export/term":           6,
	// The command line: a thin layer over everything.
	"cmd/memsight": 9,
}

// leaves are the packages that import nothing of memsight.
var leaves = []string{"pkg/model"}

// readOnly are the packages that serve HTTP or talk to other systems:
// they must not be able to attach probes or read a process's memory, so
// that nothing on the agent's HTTP surface can.
var readOnly = []string{"pkg/export/", "pkg/kube"}

// privileged are the packages readOnly packages must not depend on, directly
// or through others.
var privileged = []string{module + "pkg/probe", module + "pkg/procmem", module + "pkg/goruntime", module + "pkg/heapprof", module + "pkg/profiles", "github.com/cilium/ebpf"}

type goPackage struct {
	ImportPath string
	Imports    []string
	// Deps are the transitive dependencies (what `go list -deps` lists).
	Deps []string
}

// listPackages lists the module's packages and, with deps, every package
// they depend on (the standard library's too).
func listPackages(t *testing.T, deps bool) []goPackage {
	t.Helper()
	args := []string{"list", "-json=ImportPath,Imports,Deps"}
	if deps {
		args = append(args, "-deps")
	}
	cmd := exec.Command("go", append(args, "./...")...)
	cmd.Dir = ".."
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("go list: %v\n%s", err, ee.Stderr)
		}
		t.Fatalf("go list: %v", err)
	}
	var pkgs []goPackage
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p goPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("decoding go list output: %v", err)
		}
		pkgs = append(pkgs, p)
	}
	if len(pkgs) < 10 {
		t.Fatalf("go list found only %d packages", len(pkgs))
	}
	return pkgs
}

// TestPipelineOrder: every package imports only earlier stages.
func TestPipelineOrder(t *testing.T) {
	for _, p := range listPackages(t, false) {
		rel, ok := strings.CutPrefix(p.ImportPath, module)
		if !ok || rel == "pkg" {
			continue
		}
		if strings.HasPrefix(rel, "testdata/") || strings.HasPrefix(rel, "examples/") || strings.HasPrefix(rel, "bench/") || strings.HasPrefix(rel, "deploy") {
			continue
		}
		stage, known := stages[rel]
		if !known {
			t.Errorf("%s has no stage: add it to stages in pkg/imports_test.go", rel)
			continue
		}
		for _, imp := range p.Imports {
			dep, ok := strings.CutPrefix(imp, module)
			if !ok {
				continue
			}
			if dep == "pkg/testutil" {
				t.Errorf("%s imports pkg/testutil outside its tests", rel)
				continue
			}
			if ds, known := stages[dep]; known && ds >= stage {
				t.Errorf("%s (stage %v) imports %s (stage %v): a package may only import earlier stages of the pipeline", rel, stage, dep, ds)
			}
		}
	}
}

// TestModelIsLeaf: pkg/model depends on nothing of memsight.
func TestModelIsLeaf(t *testing.T) {
	for _, p := range listPackages(t, false) {
		rel, _ := strings.CutPrefix(p.ImportPath, module)
		if !slices.Contains(leaves, rel) {
			continue
		}
		for _, dep := range p.Deps {
			if strings.HasPrefix(dep, module) {
				t.Errorf("%s depends on %s: it is a leaf, the data every stage fills and the outputs read", rel, dep)
			}
		}
	}
}

// TestHTTPSurfaceIsReadOnly: exporters and the Kubernetes client do not
// depend, directly or through other packages (their transitive
// dependencies, as `go list -deps` lists them), on the packages that attach
// probes or read process memory. They read the agent's state as pkg/model
// values, through interfaces the agent implements (its Snapshot, and its
// Profile and Evidence: the agent reads a profile, within its read budget,
// and hands the exporters the result); cmd/memsight wires the agent to them.
func TestHTTPSurfaceIsReadOnly(t *testing.T) {
	all := listPackages(t, true)
	imports := make(map[string][]string, len(all))
	for _, p := range all {
		imports[p.ImportPath] = p.Imports
	}
	checked := 0
	for _, p := range all {
		rel, ok := strings.CutPrefix(p.ImportPath, module)
		if !ok || !slices.ContainsFunc(readOnly, func(prefix string) bool { return strings.HasPrefix(rel, prefix) }) {
			continue
		}
		checked++
		for _, bad := range privileged {
			i := slices.IndexFunc(p.Deps, func(dep string) bool { return dep == bad || strings.HasPrefix(dep, bad+"/") })
			if i >= 0 {
				t.Errorf("%s depends on %s (%s): the HTTP surface must not be able to attach probes or read memory",
					rel, p.Deps[i], strings.Join(importChain(imports, p.ImportPath, p.Deps[i]), " → "))
			}
		}
	}
	if checked < len(readOnly) {
		t.Fatalf("only %d packages of %v found", checked, readOnly)
	}
}

// importChain returns a shortest chain of imports from one package to
// another (both included), to show how a dependency comes in.
func importChain(imports map[string][]string, from, to string) []string {
	prev := map[string]string{from: ""}
	queue := []string{from}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		if p == to {
			var chain []string
			for ; p != ""; p = prev[p] {
				chain = append([]string{strings.TrimPrefix(p, module)}, chain...)
			}
			return chain
		}
		for _, imp := range imports[p] {
			if _, seen := prev[imp]; !seen {
				prev[imp] = p
				queue = append(queue, imp)
			}
		}
	}
	return []string{strings.TrimPrefix(from, module), "…", strings.TrimPrefix(to, module)}
}
