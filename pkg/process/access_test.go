package process

import (
	"errors"
	"os"
	"strings"
	"testing"
)

// TestDenial: each of the kernel's ptrace access checks is named when it
// is the one that refuses (the real cases are run end to end by
// cmd/memsight's TestOpenPermission; Yama is not built into every test
// kernel, so its wording is checked here).
func TestDenial(t *testing.T) {
	const all = 1<<41 - 1
	rootInit := accessFacts{pid: 7, capEff: all, capPrm: all, tCapPrm: all, selfNS: initUserNS, known: true, targetNS: initUserNS, owner: 0, yama: -1}
	nobody := accessFacts{pid: 7, uid: 65534, euid: 65534, gid: 65534, egid: 65534, selfNS: initUserNS, known: true, owner: 0, yama: -1}
	for _, tc := range []struct {
		name string
		f    func(f *accessFacts)
		base accessFacts
		a    Access
		want string
	}{
		{"child user namespace", func(f *accessFacts) { f.selfNS, f.targetNS = "user:[4026532200]", "" }, rootInit, ReadAccess, "user namespace of its own (user:[4026532200]), not the host's"},
		{"other uid", nil, nobody, ReadAccess, "pid 7 runs as uid 0 and memsight as uid 65534 without CAP_SYS_PTRACE: run memsight as root or as the process's user"},
		{"setuid target", func(f *accessFacts) { f.uids = [3]int{65534, 0, 0} }, nobody, MemoryAccess, "uids 65534/0/0 (real/effective/saved)"},
		{"root without CAP_SYS_PTRACE", func(f *accessFacts) {
			f.capEff, f.capPrm = all&^(1<<capSysPtrace), all&^(1<<capSysPtrace)
			f.targetNS = ""
		}, rootInit, ReadAccess, "pid 7 holds capabilities memsight lacks (CAP_SYS_PTRACE): grant memsight CAP_SYS_PTRACE"},
		{"root without caps, other uid", func(f *accessFacts) { f.capEff, f.capPrm, f.uids = 0, 0, [3]int{1000, 1000, 1000} }, rootInit, ReadAccess, "memsight runs as root but without CAP_SYS_PTRACE"},
		{"other gid", func(f *accessFacts) { f.uids = [3]int{65534, 65534, 65534} }, nobody, ReadAccess, "gid 0"},
		{"not dumpable", func(f *accessFacts) { f.uids, f.gids = [3]int{65534, 65534, 65534}, [3]int{65534, 65534, 65534} }, nobody, ReadAccess, "pid 7 is not dumpable"},
		{"yama 1", func(f *accessFacts) {
			f.uids, f.gids, f.owner, f.yama = [3]int{65534, 65534, 65534}, [3]int{65534, 65534, 65534}, 65534, 1
		}, nobody, MemoryAccess, "kernel.yama.ptrace_scope is 1"},
		{"yama 1 not for maps", func(f *accessFacts) {
			f.uids, f.gids, f.owner, f.yama = [3]int{65534, 65534, 65534}, [3]int{65534, 65534, 65534}, 65534, 1
		}, nobody, ReadAccess, "run memsight as root or grant it CAP_SYS_PTRACE"},
		{"yama 2", func(f *accessFacts) {
			f.uids, f.gids, f.owner, f.yama = [3]int{65534, 65534, 65534}, [3]int{65534, 65534, 65534}, 65534, 2
		}, nobody, MemoryAccess, "kernel.yama.ptrace_scope is 2"},
		{"yama 3", func(f *accessFacts) { f.yama = 3 }, rootInit, MemoryAccess, "kernel.yama.ptrace_scope is 3: no process may read another's memory, not even root"},
		{"security module", func(f *accessFacts) { f.lsm = "docker-default (enforce)" }, rootInit, MemoryAccess, "the security module label memsight runs under (docker-default (enforce)) forbids it"},
		{"no security module label", nil, rootInit, MemoryAccess, "a Linux security module (SELinux, AppArmor) or a seccomp filter forbids it"},
	} {
		f := tc.base
		if tc.f != nil {
			tc.f(&f)
		}
		if got := denial(f, tc.a); !strings.Contains(got, tc.want) {
			t.Errorf("%s: %q, want it to contain %q", tc.name, got, tc.want)
		}
	}
}

// TestAccessFacts reads the facts of this process about itself.
func TestAccessFacts(t *testing.T) {
	r, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	f := r.accessFacts(os.Getpid())
	if !f.known || f.selfNS == "" || f.selfNS != f.targetNS || f.uids[1] != os.Geteuid() || f.tCapPrm != f.capPrm || f.owner != os.Geteuid() {
		t.Errorf("facts about self: %+v", f)
	}
	if !errors.Is(ErrPermission, os.ErrPermission) || !errors.Is(permission(os.ErrPermission), ErrPermission) {
		t.Error("ErrPermission and os.ErrPermission do not match")
	}
	err = r.Refused(os.Getpid(), MemoryAccess, "reading the memory of pid 1", os.ErrPermission)
	if !errors.Is(err, ErrPermission) || !errors.Is(err, os.ErrPermission) || !strings.HasPrefix(err.Error(), "reading the memory of pid 1: permission denied: ") {
		t.Errorf("Refused: %v", err)
	}
}
