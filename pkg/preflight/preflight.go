package preflight

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/features"
)

// Status is the outcome of one check.
type Status int

const (
	// OK: the requirement is met.
	OK Status = iota
	// Warn: memsight runs, with the limitation the message names.
	Warn
	// Fail: memsight cannot work until this is fixed.
	Fail
)

func (s Status) String() string {
	switch s {
	case OK:
		return "ok"
	case Warn:
		return "warn"
	default:
		return "fail"
	}
}

// MarshalText encodes the status as "ok", "warn" or "fail".
func (s Status) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText decodes "ok", "warn" or "fail".
func (s *Status) UnmarshalText(b []byte) error {
	for _, v := range []Status{OK, Warn, Fail} {
		if string(b) == v.String() {
			*s = v
			return nil
		}
	}
	return fmt.Errorf("unknown check status %q: want ok, warn or fail", b)
}

// Result is the outcome of one check. Message is one line saying what was
// found and, unless Status is OK, what to do about it.
type Result struct {
	Name    string `json:"name"`
	Status  Status `json:"status"`
	Message string `json:"message"`
}

// Config says where to look. The zero value checks the running machine.
type Config struct {
	// ProcRoot is the procfs mount point ("" means /proc).
	ProcRoot string
	// SysRoot is the sysfs mount point ("" means /sys).
	SysRoot string
	// NeedBTF says the BPF objects use CO-RE relocations, so kernel BTF is
	// required. memsight's committed objects use none (a test checks it).
	NeedBTF bool
	// PerfUprobes says memsight attaches with perf-event uprobes even where
	// uprobe_multi links exist (probe.Config.PerfUprobes).
	PerfUprobes bool
	// UprobeMulti probes for uprobe_multi links: nil if the kernel has them,
	// an error wrapping ebpf.ErrNotSupported if not, any other error if the
	// probe was inconclusive. Nil means features.HaveBPFLinkUprobeMulti.
	UprobeMulti func() error
	// AttachCookie probes for bpf_get_attach_cookie in kprobe-type programs
	// (Linux 5.15), the same way. Nil means features.HaveProgramHelper.
	// It runs only on kernels older than 5.15 (to recognise backports).
	AttachCookie func() error
}

func (c Config) withDefaults() Config {
	if c.ProcRoot == "" {
		c.ProcRoot = "/proc"
	}
	if c.SysRoot == "" {
		c.SysRoot = "/sys"
	}
	if c.UprobeMulti == nil {
		c.UprobeMulti = features.HaveBPFLinkUprobeMulti
	}
	if c.AttachCookie == nil {
		c.AttachCookie = func() error { return features.HaveProgramHelper(ebpf.Kprobe, asm.FnGetAttachCookie) }
	}
	return c
}

func (c Config) proc(elem ...string) string {
	return filepath.Join(append([]string{c.ProcRoot}, elem...)...)
}

func (c Config) sys(elem ...string) string {
	return filepath.Join(append([]string{c.SysRoot}, elem...)...)
}

// Run runs every check and returns the results in a fixed order: kernel,
// btf, uprobe_pmu, uprobe_multi, perf_event_paranoid, one per capability,
// host_pid.
func Run(cfg Config) []Result {
	cfg = cfg.withDefaults()
	k, kernel := checkKernel(cfg)
	multi, multiResult := checkUprobeMulti(cfg, k)
	paranoid, paranoidResult := checkParanoid(cfg, multi)
	out := []Result{
		kernel,
		checkBTF(cfg),
		checkUprobePMU(cfg, multi),
		multiResult,
		paranoidResult,
	}
	out = append(out, checkCapabilities(cfg, k, multi, paranoid)...)
	return append(out, checkHostPID(cfg))
}

// Failed returns the results whose status is Fail.
func Failed(results []Result) []Result {
	var out []Result
	for _, r := range results {
		if r.Status == Fail {
			out = append(out, r)
		}
	}
	return out
}

// inconclusive reports whether a feature probe's error means "could not
// tell" rather than "not supported".
func inconclusive(err error) bool {
	return err != nil && !errors.Is(err, ebpf.ErrNotSupported)
}
