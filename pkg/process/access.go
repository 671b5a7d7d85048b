package process

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// ErrPermission means the kernel refused access to a process: its
// executable, its mappings or its memory. It is memsight's one sentinel for
// that: errors of this package, of pkg/procmem and of the open path
// (pkg/target) wrap it (probe.ErrPermission, for BPF, matches it too);
// AccessError says what blocks the access. It matches os.ErrPermission.
var ErrPermission error = permissionDenied{}

type permissionDenied struct{}

func (permissionDenied) Error() string        { return "permission denied" }
func (permissionDenied) Is(target error) bool { return target == fs.ErrPermission }

// Access is what a caller asks of another process, as the kernel's ptrace
// access mode checks tell them apart (ptrace(2), "Ptrace access mode
// checking").
type Access int

const (
	// ReadAccess is reading /proc/PID/exe, maps and ns/*
	// (PTRACE_MODE_READ_FSCREDS).
	ReadAccess Access = iota
	// MemoryAccess is reading the memory: process_vm_readv(2)
	// (PTRACE_MODE_ATTACH_REALCREDS) or /proc/PID/mem; Yama restricts it
	// too.
	MemoryAccess
)

// AccessError is an access to a process the kernel refused. It wraps
// ErrPermission and the system's error.
type AccessError struct {
	// Op is what was refused: "opening the executable of pid 42 (web)".
	Op string
	// Reason says what blocks the access and what to do (Reader.Denied).
	Reason string
	// Err is the system's error.
	Err error
}

func (e *AccessError) Error() string { return e.Op + ": permission denied: " + e.Reason }

// Unwrap returns ErrPermission and the system's error.
func (e *AccessError) Unwrap() []error { return []error{ErrPermission, e.Err} }

// Refused returns the AccessError of a refused access a to pid while doing
// op, with the reason Denied finds.
func (r *Reader) Refused(pid int, a Access, op string, err error) error {
	return &AccessError{Op: op, Reason: r.Denied(pid, a), Err: err}
}

// denied marks a system permission error as ErrPermission too, keeping
// its message.
type denied struct{ err error }

func (d denied) Error() string   { return d.err.Error() }
func (d denied) Unwrap() []error { return []error{ErrPermission, d.err} }

// permission wraps err in denied when it is a permission error.
func permission(err error) error {
	if errors.Is(err, fs.ErrPermission) && !errors.Is(err, ErrPermission) {
		return denied{err}
	}
	return err
}

// initUserNS is the user namespace of the host: PROC_USER_INIT_INO, the
// inode every kernel gives the initial user namespace.
const initUserNS = "user:[4026531837]"

// capSysPtrace is CAP_SYS_PTRACE's bit in the Cap* masks.
const capSysPtrace = 19

// accessFacts is what decides a ptrace access check, as this process can
// see it. Unknown facts are left at their zero value (or -1).
type accessFacts struct {
	pid int
	// This process: real and effective uid and gid, capabilities, user
	// namespace ("user:[ino]"), LSM label (/proc/self/attr/current).
	uid, euid, gid, egid int
	capEff, capPrm       uint64
	selfNS               string
	lsm                  string
	// The target: real, effective and saved uid and gid (as this
	// process's user namespace maps them), permitted capabilities, user
	// namespace ("" when unreadable), the owner of /proc/PID (root when it
	// is not dumpable).
	known      bool
	uids, gids [3]int
	tCapPrm    uint64
	targetNS   string
	owner      int
	// yama is kernel.yama.ptrace_scope (-1 without Yama).
	yama int
}

// Denied says, in one clause, why this process may not access pid as a
// and what to do: it goes through the kernel's checks in order (user
// namespaces, uids, dumpability, capabilities, Yama) with what procfs
// shows of both processes. It reads a few files; call it on errors only.
func (r *Reader) Denied(pid int, a Access) string {
	return denial(r.accessFacts(pid), a)
}

func (r *Reader) accessFacts(pid int) accessFacts {
	f := accessFacts{pid: pid, uid: os.Getuid(), euid: os.Geteuid(), gid: os.Getgid(), egid: os.Getegid(), owner: -1, yama: -1}
	if self, err := r.fs.Self(); err == nil {
		if st, err := self.NewStatus(); err == nil {
			f.capEff, f.capPrm = st.CapEff, st.CapPrm
		}
	}
	f.selfNS, _ = os.Readlink(r.pathOf("self", "ns", "user"))
	if b, err := os.ReadFile(r.pathOf("self", "attr", "current")); err == nil {
		f.lsm = strings.TrimRight(string(b), "\x00\n")
	}
	if pp, err := r.fs.Proc(pid); err == nil {
		if st, err := pp.NewStatus(); err == nil {
			f.known, f.tCapPrm = true, st.CapPrm
			for i := range 3 {
				f.uids[i], f.gids[i] = int(st.UIDs[i]), int(st.GIDs[i])
			}
		}
	}
	f.targetNS, _ = os.Readlink(r.path(pid, "ns", "user"))
	if fi, err := os.Stat(r.path(pid)); err == nil {
		if st, ok := fi.Sys().(*syscall.Stat_t); ok {
			f.owner = int(st.Uid)
		}
	}
	if b, err := os.ReadFile(r.pathOf("sys", "kernel", "yama", "ptrace_scope")); err == nil {
		if v, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			f.yama = v
		}
	}
	return f
}

// denial applies the kernel's checks to f (__ptrace_may_access, then
// cap_ptrace_access_check and yama_ptrace_access_check).
func denial(f accessFacts, a Access) string {
	ptrace := f.capEff&(1<<capSysPtrace) != 0
	if a == MemoryAccess && f.yama >= 3 {
		return "kernel.yama.ptrace_scope is 3: no process may read another's memory, not even root, until the next boot"
	}
	// Capabilities count only in the caller's user namespace and the ones
	// below it; the target's namespace link is unreadable when it is
	// outside them.
	if f.selfNS != "" && f.selfNS != initUserNS && f.targetNS == "" {
		return fmt.Sprintf("memsight runs in a user namespace of its own (%s), not the host's, and pid %d outside it, "+
			"which its capabilities (root's and CAP_SYS_PTRACE included) do not reach: "+
			"run memsight in the host's user namespace (Kubernetes: hostUsers: true; Docker, Podman: --userns=host)", f.selfNS, f.pid)
	}
	if !ptrace {
		if why := withoutPtrace(f, a); why != "" {
			return why
		}
	}
	if why := yamaDenial(f, a, ptrace); why != "" {
		return why
	}
	if ptrace {
		lsm := "a Linux security module (SELinux, AppArmor) or a seccomp filter"
		if f.lsm != "" && f.lsm != "unconfined" {
			lsm = fmt.Sprintf("the security module label memsight runs under (%s)", f.lsm)
		}
		return fmt.Sprintf("memsight has CAP_SYS_PTRACE, so %s forbids it: allow ptrace read access in its policy", lsm)
	}
	return "run memsight as root or grant it CAP_SYS_PTRACE"
}

// withoutPtrace explains a denial to a caller without CAP_SYS_PTRACE: a
// different owner, a target that is not dumpable, or one holding
// capabilities the caller lacks. "" when none applies.
func withoutPtrace(f accessFacts, a Access) string {
	uid, gid, caps := f.euid, f.egid, f.capEff
	if a == MemoryAccess { // process_vm_readv checks the real ids
		uid, gid, caps = f.uid, f.gid, f.capPrm
	}
	switch {
	case !f.known:
		return ""
	case f.uids != [3]int{uid, uid, uid}:
		who := fmt.Sprintf("uid %d", f.uids[1])
		if f.uids[0] != f.uids[1] || f.uids[2] != f.uids[1] {
			who = fmt.Sprintf("uids %d/%d/%d (real/effective/saved)", f.uids[0], f.uids[1], f.uids[2])
		}
		if uid == 0 {
			return fmt.Sprintf("pid %d runs as %s, and memsight runs as root but without CAP_SYS_PTRACE (dropped from its capability set): grant it CAP_SYS_PTRACE", f.pid, who)
		}
		return fmt.Sprintf("pid %d runs as %s and memsight as uid %d without CAP_SYS_PTRACE: run memsight as root or as the process's user, or grant it CAP_SYS_PTRACE", f.pid, who, uid)
	case f.gids != [3]int{gid, gid, gid}:
		return fmt.Sprintf("pid %d runs with gid %d and memsight with gid %d, without CAP_SYS_PTRACE: run memsight as root or grant it CAP_SYS_PTRACE", f.pid, f.gids[1], gid)
	case f.owner == 0 && f.uids[1] != 0:
		return fmt.Sprintf("pid %d is not dumpable (a setuid or file-capability executable, or it called prctl(PR_SET_DUMPABLE, 0)): only CAP_SYS_PTRACE lets memsight read it; grant it", f.pid)
	case f.tCapPrm&^caps != 0:
		return fmt.Sprintf("pid %d holds capabilities memsight lacks (%s): grant memsight CAP_SYS_PTRACE", f.pid, capNames(f.tCapPrm&^caps, 3))
	}
	return ""
}

// yamaDenial explains a memory read Yama's ptrace_scope forbids.
func yamaDenial(f accessFacts, a Access, ptrace bool) string {
	if a != MemoryAccess || ptrace {
		return ""
	}
	switch f.yama {
	case 1:
		return "kernel.yama.ptrace_scope is 1: without CAP_SYS_PTRACE memsight may read the memory of its own descendants only: grant it CAP_SYS_PTRACE (or set the sysctl to 0)"
	case 2:
		return "kernel.yama.ptrace_scope is 2: only CAP_SYS_PTRACE allows reading another process's memory: grant it to memsight"
	}
	return ""
}

// capNames names the capabilities of a mask, at most n of them.
func capNames(mask uint64, n int) string {
	var names []string
	more := 0
	for _, c := range Capabilities() {
		if mask&(1<<uint(c.Bit)) == 0 {
			continue
		}
		if len(names) == n {
			more++
			continue
		}
		names = append(names, c.Name)
	}
	s := strings.Join(names, ", ")
	if more > 0 {
		s += fmt.Sprintf(" and %d more", more)
	}
	return s
}
