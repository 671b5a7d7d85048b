package preflight

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
)

// Capability bits (linux/capability.h).
const (
	capDACReadSearch = 2
	capSysPtrace     = 19
	capSysAdmin      = 21
	capSysResource   = 24
	capPerfmon       = 38
	capBPF           = 39
)

// host describes a fixture machine; fake writes it as procfs and sysfs trees.
type host struct {
	release     string // "" leaves osrelease out
	btf         bool
	uprobeType  string // "" leaves the uprobe PMU out
	paranoid    string // "" leaves perf_event_paranoid out
	caps        []int  // effective capabilities
	self        string // /proc/self target; "" means "4242"
	pidNS       string // /proc/self/ns/pid target; "" means the initial one
	noPID1      bool   // no /proc/1/comm
	uprobeMulti error
	cookie      error
}

var notSupported = fmt.Errorf("probe: %w", ebpf.ErrNotSupported)

// rootHost is a Linux 6.18 node where memsight runs as root.
func rootHost() host {
	return host{
		release: "6.18.44-fc-v669", btf: true, uprobeType: "7", paranoid: "2",
		caps: []int{capDACReadSearch, capSysPtrace, capSysAdmin, capSysResource, capPerfmon, capBPF},
	}
}

func (h host) config(t *testing.T) Config {
	t.Helper()
	dir := t.TempDir()
	proc, sys := filepath.Join(dir, "proc"), filepath.Join(dir, "sys")
	write := func(path, content string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	link := func(target, path string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, path); err != nil {
			t.Fatal(err)
		}
	}
	if h.release != "" {
		write(filepath.Join(proc, "sys/kernel/osrelease"), h.release+"\n")
	}
	if h.paranoid != "" {
		write(filepath.Join(proc, "sys/kernel/perf_event_paranoid"), h.paranoid+"\n")
	}
	if h.btf {
		write(filepath.Join(sys, "kernel/btf/vmlinux"), "BTF")
	}
	if h.uprobeType != "" {
		write(filepath.Join(sys, "bus/event_source/devices/uprobe/type"), h.uprobeType+"\n")
	}
	self := h.self
	if self == "" {
		self = "4242"
	}
	var eff uint64
	for _, c := range h.caps {
		eff |= 1 << c
	}
	write(filepath.Join(proc, self, "status"), fmt.Sprintf("Name:\tmemsight\nPid:\t%s\nCapEff:\t%016x\n", self, eff))
	link(self, filepath.Join(proc, "self"))
	ns := h.pidNS
	if ns == "" {
		ns = initPIDNamespace
	}
	link(ns, filepath.Join(proc, self, "ns/pid"))
	if !h.noPID1 && self != "1" {
		write(filepath.Join(proc, "1/comm"), "systemd\n")
	}
	return Config{
		ProcRoot: proc, SysRoot: sys,
		UprobeMulti:  func() error { return h.uprobeMulti },
		AttachCookie: func() error { return h.cookie },
	}
}

// statuses runs the checks and returns each result by name.
func run(t *testing.T, cfg Config) map[string]Result {
	t.Helper()
	out := map[string]Result{}
	for _, r := range Run(cfg) {
		if _, dup := out[r.Name]; dup {
			t.Errorf("check %s reported twice", r.Name)
		}
		if r.Message == "" || strings.Contains(r.Message, "\n") {
			t.Errorf("check %s: message %q, want one non-empty line", r.Name, r.Message)
		}
		out[r.Name] = r
	}
	return out
}

func TestRunFixtures(t *testing.T) {
	for name, tc := range map[string]struct {
		host host
		want map[string]Status // only these are checked; every other check must be OK
		msgs map[string]string // substrings of messages
	}{
		"root on 6.18": {host: rootHost()},
		"no caps": {
			host: func() host { h := rootHost(); h.caps = nil; return h }(),
			want: map[string]Status{"CAP_BPF": Fail, "CAP_PERFMON": Fail, "CAP_SYS_PTRACE": Warn, "CAP_DAC_READ_SEARCH": Warn},
			msgs: map[string]string{"CAP_BPF": "grant CAP_BPF", "CAP_SYS_ADMIN": "not needed (uprobe_multi links)"},
		},
		"sys_admin satisfies bpf and perfmon": {
			host: func() host { h := rootHost(); h.caps = []int{capSysAdmin, capSysPtrace, capDACReadSearch}; return h }(),
		},
		"daemonset caps, no uprobe_multi, 6.18": {
			host: func() host {
				h := rootHost()
				h.caps, h.uprobeMulti = []int{capBPF, capPerfmon, capSysPtrace, capDACReadSearch}, notSupported
				return h
			}(),
			want: map[string]Status{"uprobe_multi": Warn, "CAP_SYS_ADMIN": Fail},
			msgs: map[string]string{"CAP_SYS_ADMIN": "Linux ≥ 6.16", "perf_event_paranoid": "allowed with CAP_PERFMON"},
		},
		"no uprobe_multi, 6.1, paranoid 3": {
			host: func() host {
				h := rootHost()
				h.release, h.paranoid, h.uprobeMulti = "6.1.0-18-amd64", "3", notSupported
				h.caps = []int{capBPF, capPerfmon, capSysPtrace, capDACReadSearch}
				return h
			}(),
			want: map[string]Status{"uprobe_multi": Warn, "CAP_SYS_ADMIN": Fail},
			msgs: map[string]string{"CAP_SYS_ADMIN": "perf_event_paranoid 3", "perf_event_paranoid": "need CAP_SYS_ADMIN"},
		},
		"no uprobe_multi, 6.1, paranoid 3, sys_admin": {
			host: func() host {
				h := rootHost()
				h.release, h.paranoid, h.uprobeMulti = "6.1.0-18-amd64", "3", notSupported
				return h
			}(),
			want: map[string]Status{"uprobe_multi": Warn},
		},
		"no uprobe_multi, 6.12": {
			host: func() host {
				h := rootHost()
				h.release, h.uprobeMulti = "6.12.48", notSupported
				h.caps = []int{capBPF, capPerfmon, capSysPtrace, capDACReadSearch}
				return h
			}(),
			want: map[string]Status{"uprobe_multi": Warn, "CAP_SYS_ADMIN": Warn},
		},
		"paranoid 3 does not matter with uprobe_multi": {
			host: func() host {
				h := rootHost()
				h.paranoid = "3"
				h.caps = []int{capBPF, capPerfmon, capSysPtrace, capDACReadSearch}
				return h
			}(),
			msgs: map[string]string{"perf_event_paranoid": "not used"},
		},
		"no uprobe PMU, uprobe_multi": {
			host: func() host { h := rootHost(); h.uprobeType = ""; return h }(),
			want: map[string]Status{"uprobe_pmu": Warn},
		},
		"no uprobe PMU, no uprobe_multi": {
			host: func() host { h := rootHost(); h.uprobeType, h.uprobeMulti = "", notSupported; return h }(),
			want: map[string]Status{"uprobe_pmu": Fail, "uprobe_multi": Warn},
			msgs: map[string]string{"uprobe_pmu": "CONFIG_UPROBE_EVENTS"},
		},
		"no BTF": {
			host: func() host { h := rootHost(); h.btf = false; return h }(),
			want: map[string]Status{"btf": Warn},
			msgs: map[string]string{"btf": "do not need kernel BTF"},
		},
		"5.10 without cookies": {
			host: func() host {
				h := rootHost()
				h.release, h.uprobeMulti, h.cookie = "5.10.0-28-amd64", notSupported, notSupported
				return h
			}(),
			want: map[string]Status{"kernel": Fail, "uprobe_multi": Warn},
			msgs: map[string]string{"kernel": "≥ 5.15", "CAP_SYS_RESOURCE": "present"},
		},
		"5.14 with backported cookies": {
			host: func() host {
				h := rootHost()
				h.release, h.uprobeMulti = "5.14.0-427.el9.x86_64", notSupported
				return h
			}(),
			want: map[string]Status{"kernel": Warn, "uprobe_multi": Warn},
		},
		"unknown kernel": {
			host: func() host { h := rootHost(); h.release = ""; return h }(),
			want: map[string]Status{"kernel": Warn},
		},
		"unprivileged probe on 6.18": {
			host: func() host {
				h := rootHost()
				h.caps, h.uprobeMulti = nil, fmt.Errorf("load program: %w", os.ErrPermission)
				return h
			}(),
			want: map[string]Status{"uprobe_multi": Warn, "CAP_BPF": Fail, "CAP_PERFMON": Fail, "CAP_SYS_PTRACE": Warn, "CAP_DAC_READ_SEARCH": Warn},
			msgs: map[string]string{"uprobe_multi": "expecting uprobe_multi links", "CAP_SYS_ADMIN": "not needed"},
		},
		"private PID namespace": {
			host: func() host { h := rootHost(); h.pidNS = "pid:[4026532201]"; return h }(),
			want: map[string]Status{"host_pid": Warn},
			msgs: map[string]string{"host_pid": "hostPID: true"},
		},
		"PID 1 of a container": {
			host: func() host { h := rootHost(); h.self = "1"; return h }(),
			want: map[string]Status{"host_pid": Warn},
			msgs: map[string]string{"host_pid": "PID 1"},
		},
		"hidepid": {
			host: func() host { h := rootHost(); h.noPID1 = true; return h }(),
			want: map[string]Status{"host_pid": Warn},
			msgs: map[string]string{"host_pid": "hidepid"},
		},
	} {
		t.Run(name, func(t *testing.T) {
			got := run(t, tc.host.config(t))
			for n, r := range got {
				if want := tc.want[n]; r.Status != want {
					t.Errorf("%s: %s %q, want %s", n, r.Status, r.Message, want)
				}
			}
			for n := range tc.want {
				if _, ok := got[n]; !ok {
					t.Errorf("no check %s", n)
				}
			}
			for n, sub := range tc.msgs {
				if !strings.Contains(got[n].Message, sub) {
					t.Errorf("%s: message %q, want it to contain %q", n, got[n].Message, sub)
				}
			}
		})
	}
}

func TestRunOrder(t *testing.T) {
	var names []string
	for _, r := range Run(rootHost().config(t)) {
		names = append(names, r.Name)
	}
	want := "kernel btf uprobe_pmu uprobe_multi perf_event_paranoid CAP_BPF CAP_PERFMON CAP_SYS_PTRACE CAP_DAC_READ_SEARCH CAP_SYS_ADMIN host_pid"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("checks %q, want %q", got, want)
	}
}

func TestParseRelease(t *testing.T) {
	for in, want := range map[string]Version{
		"6.18.44-fc-v669":       {6, 18, 44},
		"5.15.0-91-generic":     {5, 15, 0},
		"5.14.0-427.el9.x86_64": {5, 14, 0},
		"6.6":                   {6, 6, 0},
		"6.10-rc1":              {6, 10, 0},
		"6.1.0-18-amd64\n":      {6, 1, 0},
	} {
		got, err := ParseRelease(in)
		if err != nil || got != want {
			t.Errorf("ParseRelease(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "6", "linux", "6.x.1"} {
		if v, err := ParseRelease(in); err == nil {
			t.Errorf("ParseRelease(%q) = %v, want an error", in, v)
		}
	}
}

func TestFailed(t *testing.T) {
	rs := []Result{{Name: "a"}, {Name: "b", Status: Warn}, {Name: "c", Status: Fail}}
	if f := Failed(rs); len(f) != 1 || f[0].Name != "c" {
		t.Errorf("Failed = %v", f)
	}
	if inconclusive(nil) || inconclusive(notSupported) || !inconclusive(errors.New("EPERM")) {
		t.Error("inconclusive")
	}
}

func TestStatusText(t *testing.T) {
	for _, s := range []Status{OK, Warn, Fail} {
		b, _ := s.MarshalText()
		var got Status
		if err := got.UnmarshalText(b); err != nil || got != s {
			t.Errorf("%s: round trip %v, %v", s, got, err)
		}
	}
	var s Status
	if err := s.UnmarshalText([]byte("error")); err == nil {
		t.Error("UnmarshalText(error): want an error")
	}
}
