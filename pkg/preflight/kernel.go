package preflight

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Version is a kernel release's major.minor.patch.
type Version struct{ Major, Minor, Patch int }

// ParseRelease parses a kernel release string ("6.18.44-fc-v669",
// "5.15.0-91-generic") into its version.
func ParseRelease(release string) (Version, error) {
	release = strings.TrimSpace(release)
	num := release
	if i := strings.IndexFunc(num, func(r rune) bool { return r != '.' && (r < '0' || r > '9') }); i >= 0 {
		num = num[:i]
	}
	parts := strings.Split(strings.TrimSuffix(num, "."), ".")
	if len(parts) < 2 {
		return Version{}, fmt.Errorf("kernel release %q is not major.minor[.patch]", release)
	}
	var v Version
	for i, dst := range []*int{&v.Major, &v.Minor, &v.Patch} {
		if i >= len(parts) {
			break
		}
		n, err := strconv.Atoi(parts[i])
		if err != nil {
			return Version{}, fmt.Errorf("kernel release %q: %w", release, err)
		}
		*dst = n
	}
	return v, nil
}

// AtLeast reports whether v is major.minor or newer.
func (v Version) AtLeast(major, minor int) bool {
	return v.Major > major || v.Major == major && v.Minor >= minor
}

func (v Version) String() string { return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Patch) }

// kernelInfo is what later checks need to know about the kernel; known is
// false when the release could not be read.
type kernelInfo struct {
	Version
	known bool
}

func (k kernelInfo) atLeast(major, minor int) bool { return k.known && k.AtLeast(major, minor) }

// checkKernel: memsight needs Linux 5.15 (BPF cookies on uprobes; ring
// buffers came in 5.8). An older kernel that has the cookie helper (a
// distribution backport) gets a warning instead.
func checkKernel(cfg Config) (kernelInfo, Result) {
	r := Result{Name: "kernel"}
	path := cfg.proc("sys", "kernel", "osrelease")
	b, err := os.ReadFile(path)
	if err != nil {
		r.Status, r.Message = Warn, fmt.Sprintf("reading %s: %v: cannot tell the kernel release; memsight needs Linux ≥ 5.15", path, err)
		return kernelInfo{}, r
	}
	release := strings.TrimSpace(string(b))
	v, err := ParseRelease(release)
	if err != nil {
		r.Status, r.Message = Warn, fmt.Sprintf("%v: cannot tell the kernel release; memsight needs Linux ≥ 5.15", err)
		return kernelInfo{}, r
	}
	k := kernelInfo{Version: v, known: true}
	if v.AtLeast(5, 15) {
		r.Message = fmt.Sprintf("Linux %s (≥ 5.15)", release)
		return k, r
	}
	switch err := cfg.AttachCookie(); {
	case err == nil:
		r.Status, r.Message = Warn, fmt.Sprintf("Linux %s is older than the supported 5.15 but has BPF cookies (a backport): expect memsight to work, untested", release)
	case inconclusive(err):
		r.Status, r.Message = Fail, fmt.Sprintf("Linux %s: memsight needs Linux ≥ 5.15 (BPF cookies on uprobes; probing for a backport: %v); upgrade the node's kernel", release, err)
	default:
		r.Status, r.Message = Fail, fmt.Sprintf("Linux %s has no BPF cookies on uprobes: memsight needs Linux ≥ 5.15; upgrade the node's kernel", release)
	}
	return k, r
}
