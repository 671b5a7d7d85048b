package process

import (
	"fmt"
	"strings"

	"github.com/prometheus/procfs"
)

// Capability is a Linux capability: its name as in capabilities(7) and its
// bit in the Cap* masks of /proc/PID/status.
type Capability struct {
	Name string
	Bit  int
}

// Capabilities returns the Linux capabilities up to CAP_CHECKPOINT_RESTORE
// (bit 40, Linux 5.9), in bit order.
func Capabilities() []Capability {
	names := []string{
		"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER",
		"CAP_FSETID", "CAP_KILL", "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP",
		"CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
		"CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER",
		"CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
		"CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE",
		"CAP_SYS_RESOURCE", "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD",
		"CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP",
		"CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM",
		"CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF",
		"CAP_CHECKPOINT_RESTORE",
	}
	caps := make([]Capability, len(names))
	for i, n := range names {
		caps[i] = Capability{Name: n, Bit: i}
	}
	return caps
}

// capability looks up a capability by name, with or without the "CAP_"
// prefix, in any case.
func capability(name string) (Capability, bool) {
	n := strings.ToUpper(name)
	if !strings.HasPrefix(n, "CAP_") {
		n = "CAP_" + n
	}
	for _, c := range Capabilities() {
		if c.Name == n {
			return c, true
		}
	}
	return Capability{}, false
}

// MissingCapabilities returns which of the capabilities named in need the
// calling process lacks in its effective set (CapEff of
// <procRoot>/self/status; procRoot "" means "/proc"), in the order given and
// spelled as in capabilities(7). An unknown name is an error.
//
// CAP_SYS_ADMIN satisfies CAP_BPF and CAP_PERFMON. Linux 5.8 split those two
// out of CAP_SYS_ADMIN, but the kernel still accepts CAP_SYS_ADMIN wherever
// they are required (bpf_capable(), perfmon_capable()); before 5.8 only
// CAP_SYS_ADMIN works, so asking for CAP_BPF there is still answered right
// when the process has CAP_SYS_ADMIN.
func MissingCapabilities(procRoot string, need ...string) ([]string, error) {
	if procRoot == "" {
		procRoot = procfs.DefaultMountPoint
	}
	pfs, err := procfs.NewFS(procRoot)
	if err != nil {
		return nil, fmt.Errorf("opening procfs at %s: %w", procRoot, err)
	}
	self, err := pfs.Self()
	if err != nil {
		return nil, fmt.Errorf("finding own pid in %s: %w", procRoot, err)
	}
	status, err := self.NewStatus()
	if err != nil {
		return nil, fmt.Errorf("reading own status in %s: %w", procRoot, err)
	}
	return missing(status.CapEff, need)
}

func missing(eff uint64, need []string) ([]string, error) {
	has := func(c Capability) bool { return eff&(1<<uint(c.Bit)) != 0 }
	admin, _ := capability("CAP_SYS_ADMIN")
	var out []string
	for _, n := range need {
		c, ok := capability(n)
		if !ok {
			return nil, fmt.Errorf("unknown capability %q", n)
		}
		if has(c) || (c.Name == "CAP_BPF" || c.Name == "CAP_PERFMON") && has(admin) {
			continue
		}
		out = append(out, c.Name)
	}
	return out, nil
}
