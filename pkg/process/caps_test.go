package process

import (
	"os"
	"slices"
	"testing"
)

func TestMissingCapabilitiesAsRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		needPrivilege(t, "running as uid %d, not root", os.Geteuid())
	}
	miss, err := MissingCapabilities("", "CAP_BPF", "CAP_PERFMON", "CAP_SYS_PTRACE", "CAP_SYS_ADMIN")
	if err != nil {
		t.Fatal(err)
	}
	if len(miss) != 0 {
		t.Errorf("root misses %v", miss)
	}
}

func TestMissingCapabilitiesFixture(t *testing.T) {
	// testdata/proc/self/status has CapEff = CAP_SYS_PTRACE | CAP_BPF.
	miss, err := MissingCapabilities("testdata/proc", "CAP_BPF", "perfmon", "CAP_SYS_PTRACE", "cap_sys_admin")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"CAP_PERFMON", "CAP_SYS_ADMIN"}; !slices.Equal(miss, want) {
		t.Errorf("missing %v, want %v", miss, want)
	}
	if _, err := MissingCapabilities("testdata/proc", "CAP_NOPE"); err == nil {
		t.Error("unknown capability accepted")
	}
	if _, err := MissingCapabilities(t.TempDir(), "CAP_BPF"); err == nil {
		t.Error("procfs without self accepted")
	}
}

func TestMissingSysAdminImpliesBPF(t *testing.T) {
	admin := uint64(1) << 21
	for _, tc := range []struct {
		eff  uint64
		need []string
		want []string
	}{
		{admin, []string{"CAP_BPF", "CAP_PERFMON"}, nil},
		{admin, []string{"CAP_BPF", "CAP_SYS_PTRACE"}, []string{"CAP_SYS_PTRACE"}},
		{0, []string{"CAP_BPF", "CAP_PERFMON", "CAP_SYS_ADMIN"}, []string{"CAP_BPF", "CAP_PERFMON", "CAP_SYS_ADMIN"}},
		{1<<38 | 1<<39, []string{"CAP_BPF", "CAP_PERFMON"}, nil},
		{1<<38 | 1<<39, []string{"CAP_SYS_ADMIN"}, []string{"CAP_SYS_ADMIN"}},
	} {
		got, err := missing(tc.eff, tc.need)
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("missing(%#x, %v) = %v, %v; want %v", tc.eff, tc.need, got, err, tc.want)
		}
	}
	caps := Capabilities()
	for i, c := range caps {
		if c.Bit != i {
			t.Errorf("Capabilities()[%d] = %+v", i, c)
		}
	}
	if c, ok := capability("bpf"); !ok || c.Bit != 39 {
		t.Errorf("capability(bpf) = %+v, %v", c, ok)
	}
	if c, ok := capability("CAP_PERFMON"); !ok || c.Bit != 38 {
		t.Errorf("capability(CAP_PERFMON) = %+v, %v", c, ok)
	}
}
