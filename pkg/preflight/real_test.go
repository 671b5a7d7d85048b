package preflight

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"

	"github.com/memsight/memsight/pkg/testutil"
)

// TestRunHere runs the checks on this machine, which the BPF tests need to
// be a supported one, run as root: every check that decides whether memsight
// works must pass.
func TestRunHere(t *testing.T) {
	testutil.RequireBPF(t)
	if os.Geteuid() != 0 {
		t.Fatal("TestRunHere checks the capabilities of root: run the BPF tests as root")
	}
	mustPass := []string{"kernel", "uprobe_pmu", "uprobe_multi", "CAP_BPF", "CAP_PERFMON", "CAP_SYS_PTRACE", "CAP_DAC_READ_SEARCH", "CAP_SYS_ADMIN", "host_pid"}
	got := map[string]Result{}
	for _, r := range Run(Config{}) {
		t.Logf("%-20s %-4s %s", r.Name, r.Status, r.Message)
		got[r.Name] = r
	}
	for _, n := range mustPass {
		if r, ok := got[n]; !ok || r.Status != OK {
			t.Errorf("%s: %s %q, want ok", n, r.Status, r.Message)
		}
	}
}

// TestObjectsNeedNoBTF backs Config.NeedBTF's default (false): memsight's
// committed BPF objects have no CO-RE relocations, so kernel BTF is not
// needed. If this fails, BPF code started using CO-RE: set NeedBTF in
// cmd/memsight and update docs/security.md (Mounts: /sys/kernel/btf).
func TestObjectsNeedNoBTF(t *testing.T) {
	objs, err := filepath.Glob("../probe/*_bpfel.o")
	if err != nil || len(objs) == 0 {
		t.Fatalf("no BPF objects in ../probe: %v", err)
	}
	for _, o := range objs {
		spec, err := ebpf.LoadCollectionSpec(o)
		if err != nil {
			t.Fatalf("%s: %v", o, err)
		}
		for name, p := range spec.Programs {
			for i := range p.Instructions {
				ins := &p.Instructions[i]
				if rel := btf.CORERelocationMetadata(ins); rel != nil {
					t.Errorf("%s: program %s has a CO-RE relocation (%v): it needs kernel BTF", o, name, rel)
					break
				}
				if ins.IsKfuncCall() {
					t.Errorf("%s: program %s calls a kfunc: it needs kernel BTF", o, name)
					break
				}
			}
		}
	}
}
