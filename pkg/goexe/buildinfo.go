package goexe

import (
	"debug/buildinfo"
	"fmt"
	"runtime/debug"
	"strconv"
	"strings"
)

// The Go minor versions memsight knows the runtime of (go1.20 to go1.27).
const (
	minSupportedMinor = 20
	maxSupportedMinor = 27
)

// ParseVersion parses a Go toolchain version as found in build info:
// "go1.26.8", "go1.26" (patch 0), "go1.27rc1" (patch 0), with the
// experiments of a GOEXPERIMENT build ignored (" X:nodwarf5", or
// "-X:goroutineleakprofile" as go1.26 writes it). Development versions
// ("devel ...") are not parsed.
func ParseVersion(s string) (Version, bool) {
	s, _, _ = strings.Cut(strings.TrimSpace(s), " ")
	s, _, _ = strings.Cut(s, "-X:")
	rest, ok := strings.CutPrefix(s, "go")
	if !ok {
		return Version{}, false
	}
	// Drop a pre-release suffix: go1.27rc1, go1.27beta2.
	for _, pre := range []string{"rc", "beta", "alpha"} {
		if i := strings.Index(rest, pre); i > 0 {
			rest = rest[:i]
		}
	}
	parts := strings.Split(rest, ".")
	if len(parts) < 2 || len(parts) > 3 {
		return Version{}, false
	}
	var n [3]int
	for i, p := range parts {
		v, err := strconv.Atoi(p)
		if err != nil || v < 0 || v > 1<<20 || p == "" || (len(p) > 1 && p[0] == '0') {
			return Version{}, false
		}
		n[i] = v
	}
	return Version{Major: n[0], Minor: n[1], Patch: n[2]}, true
}

// String formats v as a Go version, "go1.26.8".
func (v Version) String() string {
	return fmt.Sprintf("go%d.%d.%d", v.Major, v.Minor, v.Patch)
}

// Compare returns -1, 0 or +1 as v is older than, equal to or newer than o.
func (v Version) Compare(o Version) int {
	for _, d := range [3]int{v.Major - o.Major, v.Minor - o.Minor, v.Patch - o.Patch} {
		if d < 0 {
			return -1
		}
		if d > 0 {
			return 1
		}
	}
	return 0
}

// AtLeast reports whether v is major.minor or newer (any patch).
func (v Version) AtLeast(major, minor int) bool {
	return v.Compare(Version{Major: major, Minor: minor}) >= 0
}

// checkSupported returns an error wrapping ErrUnsupportedGo for versions
// outside [go1.20, go1.27].
func checkSupported(v Version, raw string) error {
	if v == (Version{}) {
		return fmt.Errorf("version %q is not a Go release: %w", raw, ErrUnsupportedGo)
	}
	if v.Major != 1 || v.Minor < minSupportedMinor || v.Minor > maxSupportedMinor {
		return fmt.Errorf("%s is outside the supported go1.20 to go1.27: %w", raw, ErrUnsupportedGo)
	}
	return nil
}

// readBuildInfo fills the version and build fields from .go.buildinfo.
func (b *Binary) readBuildInfo() (err error) {
	defer guard(&err, "reading build info", debug.SetPanicOnFault(true))
	bi, err := buildinfo.Read(b.im.r)
	if err != nil {
		return fmt.Errorf("reading Go build info: %w: %w", err, ErrNotGo)
	}
	// The kept strings are copied: they point into the whole module
	// list otherwise (16 KiB for a server with many dependencies).
	b.GoVersion = strings.Clone(bi.GoVersion)
	b.Version, _ = ParseVersion(bi.GoVersion)
	b.MainModule = strings.Clone(bi.Path)
	if b.MainModule == "" {
		b.MainModule = strings.Clone(bi.Main.Path)
	}
	b.BuildSettings = make(map[string]string, len(bi.Settings))
	for _, s := range bi.Settings {
		b.BuildSettings[strings.Clone(s.Key)] = strings.Clone(s.Value)
	}
	b.BuildMode = b.BuildSettings["-buildmode"]
	if b.BuildMode == "" {
		b.BuildMode = "exe"
	}
	b.CGO = b.BuildSettings["CGO_ENABLED"] == "1"
	b.Trimpath = b.BuildSettings["-trimpath"] == "true"
	b.GOAMD64 = b.BuildSettings["GOAMD64"]
	if goarch := b.BuildSettings["GOARCH"]; goarch != "" && goarch != string(b.Arch) {
		return fmt.Errorf("build info says GOARCH=%s but the ELF machine is %s: %w", goarch, b.Arch, ErrBadELF)
	}
	return nil
}

// externalLinking reports whether the build settings say the binary may have
// been linked by the external (C) linker, where .text does not start at
// runtime.text.
func (b *Binary) externalLinking() bool {
	return b.CGO || strings.Contains(b.BuildSettings["-ldflags"], "linkmode=external") ||
		(b.BuildMode != "exe" && b.BuildMode != "pie")
}
