package main

import (
	"fmt"
	"regexp"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// buildVersion says which memsight this is. make build and make release
// stamp Version (-X main.version, from the VERSION file); a binary built by
// `go install …/cmd/memsight@v0.1.0` or `go build` in a checkout takes it
// from the build info the go command records, as it does the revision.
type buildVersion struct {
	Version   string // stamped, else the main module's version, else "devel"
	Revision  string // the commit built, "" if unknown
	Modified  bool   // the checkout had uncommitted changes
	GoVersion string // the Go toolchain that built it
}

// pseudoRev is the commit at the end of a Go pseudo-version
// (v0.0.0-20261201120000-abcdef123456, v0.1.1-0.20261201120000-abcdef123456).
var pseudoRev = regexp.MustCompile(`[-.][0-9]{14}-([0-9a-f]{12})(\+[0-9A-Za-z.-]+)?$`)

func readBuildVersion(stamped string) buildVersion {
	bi, _ := debug.ReadBuildInfo()
	return buildVersionFrom(stamped, bi)
}

// buildVersionFrom is readBuildVersion's core; bi may be nil (a binary
// built without module support).
func buildVersionFrom(stamped string, bi *debug.BuildInfo) buildVersion {
	v := buildVersion{Version: stamped, GoVersion: runtime.Version()}
	if bi == nil {
		if v.Version == "" {
			v.Version = "devel"
		}
		return v
	}
	v.GoVersion = bi.GoVersion
	if v.Version == "" {
		v.Version = bi.Main.Version
	}
	if v.Version == "" || v.Version == "(devel)" {
		v.Version = "devel"
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			v.Revision = s.Value
		case "vcs.modified":
			v.Modified = s.Value == "true"
		}
	}
	if v.Revision == "" {
		// go install …@main or @<commit> records no VCS settings, only the
		// pseudo-version, which ends with the commit.
		if m := pseudoRev.FindStringSubmatch(bi.Main.Version); m != nil {
			v.Revision = m[1]
		}
	}
	if strings.HasSuffix(bi.Main.Version, "+dirty") {
		v.Modified = true
	}
	return v
}

// String is the line `memsight version` prints:
// "memsight v0.1.0 (revision 0123abcd…, modified) go1.26.8 linux/amd64".
func (v buildVersion) String() string {
	rev := v.Revision
	if rev == "" {
		rev = "unknown"
	}
	if v.Modified {
		rev += ", modified"
	}
	return fmt.Sprintf("memsight %s (revision %s) %s %s/%s", v.Version, rev, v.GoVersion, runtime.GOOS, runtime.GOARCH)
}

func newVersionCmd(v buildVersion) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print memsight's version, the commit and the Go toolchain it was built from",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintln(cmd.OutOrStdout(), v)
			return nil
		},
	}
}
