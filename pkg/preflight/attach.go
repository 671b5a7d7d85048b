package preflight

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// checkUprobeMulti probes for uprobe_multi links (Linux 6.6), memsight's
// default way to attach. It returns whether memsight will attach with them.
// When the probe is inconclusive (no permission to load BPF: the capability
// checks say so), the kernel release decides.
func checkUprobeMulti(cfg Config, k kernelInfo) (bool, Result) {
	r := Result{Name: "uprobe_multi"}
	err := cfg.UprobeMulti()
	multi := err == nil
	switch {
	case err == nil && cfg.PerfUprobes:
		r.Message = "uprobe_multi links available, but perf-event uprobes were asked for"
	case err == nil:
		r.Message = "uprobe_multi links available: attaching needs only CAP_BPF and CAP_PERFMON"
	case inconclusive(err):
		multi = k.atLeast(6, 6)
		guess := "Linux < 6.6: expecting perf-event uprobes"
		if multi {
			guess = "Linux ≥ 6.6: expecting uprobe_multi links"
		}
		why := err.Error()
		if errors.Is(err, os.ErrPermission) {
			why = "no permission to load BPF: see CAP_BPF and CAP_PERFMON"
		}
		r.Status, r.Message = Warn, fmt.Sprintf("cannot probe for uprobe_multi links (%s); %s", why, guess)
	default:
		r.Status, r.Message = Warn, "no uprobe_multi links (Linux < 6.6 or built without them): memsight falls back to perf-event uprobes, which need CAP_SYS_ADMIN on Linux ≥ 6.16 or with perf_event_paranoid > 2"
	}
	return multi && !cfg.PerfUprobes, r
}

// checkParanoid reads perf_event_paranoid. It matters only for perf-event
// uprobes: above 2 (a Debian/Android-style setting) perf_event_open needs
// CAP_SYS_ADMIN. It returns the value (-1 if unknown); the CAP_SYS_ADMIN
// check turns it into a requirement.
func checkParanoid(cfg Config, multi bool) (int, Result) {
	r := Result{Name: "perf_event_paranoid"}
	path := cfg.proc("sys", "kernel", "perf_event_paranoid")
	b, err := os.ReadFile(path)
	if err != nil {
		if multi {
			r.Message = fmt.Sprintf("%s: %v (not used: uprobe_multi links do not go through perf_event_open)", path, short(err))
			return -1, r
		}
		r.Status, r.Message = Warn, fmt.Sprintf("%s: %v: cannot tell whether perf-event uprobes need CAP_SYS_ADMIN", path, short(err))
		return -1, r
	}
	v, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		r.Status, r.Message = Warn, fmt.Sprintf("%s: %q is not a number", path, strings.TrimSpace(string(b)))
		return -1, r
	}
	switch {
	case multi:
		r.Message = fmt.Sprintf("%d (not used: uprobe_multi links do not go through perf_event_open)", v)
	case v > 2:
		r.Message = fmt.Sprintf("%d: perf-event uprobes need CAP_SYS_ADMIN (see its check)", v)
	default:
		r.Message = fmt.Sprintf("%d: perf-event uprobes allowed with CAP_PERFMON", v)
	}
	return v, r
}
