package preflight

import (
	"fmt"
	"os"
	"strings"
)

// initPIDNamespace is how /proc/PID/ns/pid names the initial PID namespace:
// its inode is fixed (PROC_PID_INIT_INO, include/linux/proc_ns.h).
const initPIDNamespace = "pid:[4026531836]"

// checkHostPID: memsight must see every process of the node, and BPF reports
// PIDs of the initial PID namespace, so the procfs it reads must be the
// host's, seen from the host's PID namespace (Kubernetes: hostPID: true).
// A private PID namespace still runs, watching only its own processes.
func checkHostPID(cfg Config) Result {
	r := Result{Name: "host_pid"}
	const fix = "run with hostPID: true (Kubernetes) or --pid=host (docker)"
	self, err := os.Readlink(cfg.proc("self"))
	if err != nil {
		r.Status, r.Message = Warn, fmt.Sprintf("%s: %v: this process is not in %s's PID namespace; %s", cfg.proc("self"), short(err), cfg.ProcRoot, fix)
		return r
	}
	if self == "1" {
		r.Status, r.Message = Warn, "this process is PID 1 of a private PID namespace: it sees no other process of the node; "+fix
		return r
	}
	ns, err := os.Readlink(cfg.proc("self", "ns", "pid"))
	if err != nil {
		r.Status, r.Message = Warn, fmt.Sprintf("%s: %v: cannot tell the PID namespace; %s", cfg.proc("self", "ns", "pid"), short(err), fix)
		return r
	}
	if ns != initPIDNamespace {
		r.Status, r.Message = Warn, fmt.Sprintf("in a private PID namespace (%s): only its processes are visible and BPF's PIDs will not match /proc; %s", ns, fix)
		return r
	}
	comm, err := os.ReadFile(cfg.proc("1", "comm"))
	if err != nil {
		r.Status, r.Message = Warn, fmt.Sprintf("%s: %v: other processes are hidden (procfs hidepid?); mount procfs without hidepid or %s", cfg.proc("1", "comm"), short(err), fix)
		return r
	}
	r.Message = fmt.Sprintf("host PID namespace: PID 1 (%s) is visible", strings.TrimSpace(string(comm)))
	return r
}
