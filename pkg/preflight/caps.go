package preflight

import (
	"fmt"
	"slices"

	"github.com/memsight/memsight/pkg/process"
)

// capNeed is one capability memsight may need, why, and how bad its absence is.
type capNeed struct {
	name   string
	why    string // what goes wrong without it
	status Status // when missing
	fix    string // besides "run as root or grant <name>"
}

// checkCapabilities checks the effective capabilities of this process
// (docs/security.md justifies each). CAP_BPF and CAP_PERFMON are required;
// without CAP_SYS_PTRACE and CAP_DAC_READ_SEARCH memsight runs but cannot
// inspect most processes. CAP_SYS_ADMIN is required only for perf-event
// uprobes on Linux ≥ 6.16 or with perf_event_paranoid > 2; CAP_SYS_RESOURCE
// only before Linux 5.11, which charges BPF memory to RLIMIT_MEMLOCK.
func checkCapabilities(cfg Config, k kernelInfo, multi bool, paranoid int) []Result {
	needs := []capNeed{
		{"CAP_BPF", "the BPF programs and maps cannot be loaded", Fail, ""},
		{"CAP_PERFMON", "tracing programs cannot be loaded or attached", Fail, ""},
		{"CAP_SYS_PTRACE", "processes of other users cannot be inspected (their /proc/PID/exe, maps and memory)", Warn, ""},
		{"CAP_DAC_READ_SEARCH", "executables inside containers (/proc/PID/root/...) may be unreadable", Warn, ""},
	}
	admin := capNeed{name: "CAP_SYS_ADMIN"}
	var adminWhy []string
	if !multi && k.atLeast(6, 16) {
		adminWhy = append(adminWhy, "Linux ≥ 6.16")
	}
	if !multi && paranoid > 2 {
		adminWhy = append(adminWhy, fmt.Sprintf("perf_event_paranoid %d", paranoid))
	}
	switch {
	case len(adminWhy) > 0:
		admin.status = Fail
		admin.why = fmt.Sprintf("perf-event uprobes (no uprobe_multi links here) need it with %s", joinAnd(adminWhy))
		admin.fix = " (Helm: extraCapabilities: [SYS_ADMIN]), or use a kernel with uprobe_multi links"
	case !multi && k.atLeast(6, 12):
		admin.status = Warn
		admin.why = "perf-event uprobes (no uprobe_multi links here) need it on 6.12.y and later kernels with the 6.16 change backported"
		admin.fix = " if attaching fails with permission denied"
	}
	if admin.status != OK {
		needs = append(needs, admin)
	}
	if k.known && !k.AtLeast(5, 11) {
		needs = append(needs, capNeed{"CAP_SYS_RESOURCE", "Linux < 5.11 charges BPF memory to RLIMIT_MEMLOCK, which may be too low", Warn, " and raise the limit (ulimit -l unlimited)"})
	}

	names := make([]string, len(needs))
	for i, n := range needs {
		names[i] = n.name
	}
	missing, err := process.MissingCapabilities(cfg.ProcRoot, names...)
	var out []Result
	for _, n := range needs {
		r := Result{Name: n.name}
		switch {
		case err != nil:
			r.Status, r.Message = Warn, fmt.Sprintf("cannot read this process's capabilities: %v", err)
		case !slices.Contains(missing, n.name):
			r.Message = "present"
		default:
			r.Status, r.Message = n.status, fmt.Sprintf("missing: %s; run as root or grant %s%s (docs/security.md)", n.why, n.name, n.fix)
		}
		out = append(out, r)
	}
	if admin.status == OK {
		r := Result{Name: "CAP_SYS_ADMIN", Message: "not needed (uprobe_multi links)"}
		if !multi {
			r.Message = "not needed (perf-event uprobes on a kernel before 6.12 with perf_event_paranoid ≤ 2)"
		}
		out = append(out, r)
	}
	return out
}

func joinAnd(s []string) string {
	if len(s) == 2 {
		return s[0] + " and " + s[1]
	}
	return s[0]
}
