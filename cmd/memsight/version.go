package main

import (
	"fmt"
	"regexp"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// buildVersion says which memsight this is. make build, make release and
// the Dockerfile stamp the version (-X main.version, from the VERSION file)
// and the commit (-X main.revision); a binary built by `go install
// …/cmd/memsight@v0.1.0` or `go build` in a checkout takes them from the
// build info the go command records. The build info's commit wins over
// the stamped one: it is the go command's own record of the tree built.
type buildVersion struct {
	Version   string // stamped, else the main module's version, else "devel"
	Revision  string // the commit built, "" if unknown
	Modified  bool   // the checkout had uncommitted changes
	GoVersion string // the Go toolchain that built it
}

// pseudoRev is the commit at the end of a Go pseudo-version
// (v0.0.0-20261201120000-abcdef123456, v0.1.1-0.20261201120000-abcdef123456).
var pseudoRev = regexp.MustCompile(`[-.][0-9]{14}-([0-9a-f]{12})(\+[0-9A-Za-z.-]+)?$`)

func readBuildVersion(stamped, stampedRevision string) buildVersion {
	bi, _ := debug.ReadBuildInfo()
	return buildVersionFrom(stamped, stampedRevision, bi)
}

// buildVersionFrom is readBuildVersion's core; bi may be nil (a binary
// built without module support).
func buildVersionFrom(stamped, stampedRevision string, bi *debug.BuildInfo) buildVersion {
	v := buildVersion{Version: stamped, Revision: stampedRevision, GoVersion: runtime.Version()}
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
			v.Revision = s.Value // the go command's record wins over a stamp
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
