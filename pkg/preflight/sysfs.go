package preflight

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// checkBTF: kernel BTF is needed only by BPF objects with CO-RE relocations.
// Missing BTF is a warning otherwise: the README lists it as a requirement,
// but today's objects load without it.
func checkBTF(cfg Config) Result {
	r := Result{Name: "btf"}
	path := cfg.sys("kernel", "btf", "vmlinux")
	_, err := os.Stat(path)
	switch {
	case err == nil && cfg.NeedBTF:
		r.Message = path + " present"
	case err == nil:
		r.Message = path + " present (memsight's BPF objects use no CO-RE relocations, so it is not read)"
	case cfg.NeedBTF:
		r.Status, r.Message = Fail, fmt.Sprintf("%s: %v: the BPF objects need kernel BTF; use a kernel built with CONFIG_DEBUG_INFO_BTF=y", path, err)
	default:
		r.Status, r.Message = Warn, fmt.Sprintf("%s: %v: memsight's BPF objects do not need kernel BTF, so it runs; a kernel with CONFIG_DEBUG_INFO_BTF=y is the supported setup", path, err)
	}
	return r
}

// checkUprobePMU: the uprobe perf PMU (CONFIG_UPROBE_EVENTS) is what
// perf-event uprobes attach through. With uprobe_multi links it is only the
// fallback, so its absence fails only when uprobe_multi links are missing too.
func checkUprobePMU(cfg Config, multi bool) Result {
	r := Result{Name: "uprobe_pmu"}
	path := cfg.sys("bus", "event_source", "devices", "uprobe", "type")
	b, err := os.ReadFile(path)
	if err == nil {
		if _, perr := strconv.Atoi(strings.TrimSpace(string(b))); perr != nil {
			err = fmt.Errorf("not a PMU type: %q", strings.TrimSpace(string(b)))
		}
	}
	switch {
	case err == nil:
		r.Message = "uprobe PMU present (type " + strings.TrimSpace(string(b)) + ")"
	case multi && !cfg.PerfUprobes:
		r.Status, r.Message = Warn, fmt.Sprintf("%s: %v: no perf-event uprobes (CONFIG_UPROBE_EVENTS), but uprobe_multi links work without them", path, short(err))
	default:
		r.Status, r.Message = Fail, fmt.Sprintf("%s: %v: this kernel has no uprobe support; memsight needs CONFIG_UPROBE_EVENTS=y (or uprobe_multi links, Linux ≥ 6.6)", path, short(err))
	}
	return r
}

// short shortens "open /sys/...: no such file or directory" (whose path the
// message already names) to "no such file or directory".
func short(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
