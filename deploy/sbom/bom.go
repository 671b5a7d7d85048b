package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"runtime/debug"
	"strings"
	"time"

	cdx "github.com/CycloneDX/cyclonedx-go"
)

const (
	// memsightLicense covers the binary: the Go code and the BPF object in it.
	memsightLicense = "Apache-2.0 AND (GPL-2.0-only OR BSD-2-Clause)"
	bpfLicense      = "GPL-2.0-only OR BSD-2-Clause"
)

// artifact is a file described by its name and SHA-256 (hex).
type artifact struct {
	name, sha256 string
}

// newBOM describes the binary bin, built as bi, stamped with version, with
// the BPF object bpf embedded, at time created (the commit's time, so that
// the same commit gives the same SBOM).
func newBOM(bi *debug.BuildInfo, version string, bin, bpf artifact, created time.Time) *cdx.BOM {
	bom := cdx.NewBOM()
	sum := sha256.Sum256([]byte(bin.sha256 + bpf.sha256))
	u := sum[:16]
	u[6] = u[6]&0x0f | 0x50 // a name-based UUID: the same inputs, the same serial number
	u[8] = u[8]&0x3f | 0x80
	bom.SerialNumber = fmt.Sprintf("urn:uuid:%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])

	var props []cdx.Property
	for _, s := range bi.Settings {
		props = append(props, cdx.Property{Name: "go:build:" + s.Key, Value: s.Value})
	}
	root := cdx.Component{
		BOMRef:     modulePURL(bi.Main.Path, version),
		Type:       cdx.ComponentTypeApplication,
		Name:       "memsight",
		Version:    version,
		PackageURL: modulePURL(bi.Main.Path, version),
		Hashes:     &[]cdx.Hash{{Algorithm: cdx.HashAlgoSHA256, Value: bin.sha256}},
		Licenses:   &cdx.Licenses{{Expression: memsightLicense}},
		Properties: &props,
	}
	bom.Metadata = &cdx.Metadata{Timestamp: created.UTC().Format(time.RFC3339), Component: &root}

	goVersion := strings.TrimPrefix(bi.GoVersion, "go")
	comps := []cdx.Component{
		{
			BOMRef:      "bpf:" + bpf.name,
			Type:        cdx.ComponentTypeFile,
			Name:        bpf.name,
			Description: "memsight's BPF programs, embedded in the binary (bpf/ in the source)",
			Hashes:      &[]cdx.Hash{{Algorithm: cdx.HashAlgoSHA256, Value: bpf.sha256}},
			Licenses:    &cdx.Licenses{{Expression: bpfLicense}},
		},
		{
			BOMRef:     "pkg:golang/stdlib@" + goVersion,
			Type:       cdx.ComponentTypeLibrary,
			Name:       "stdlib",
			Version:    bi.GoVersion,
			PackageURL: "pkg:golang/stdlib@" + goVersion,
		},
	}
	for _, d := range bi.Deps {
		if d.Replace != nil {
			d = d.Replace
		}
		purl := modulePURL(d.Path, d.Version)
		comps = append(comps, cdx.Component{BOMRef: purl, Type: cdx.ComponentTypeLibrary, Name: d.Path, Version: d.Version, PackageURL: purl})
	}
	refs := make([]string, len(comps))
	for i, c := range comps {
		refs[i] = c.BOMRef
	}
	bom.Components = &comps
	bom.Dependencies = &[]cdx.Dependency{{Ref: root.BOMRef, Dependencies: &refs}}
	return bom
}

// modulePURL is the package URL of a Go module version, as cyclonedx-gomod
// writes it.
func modulePURL(path, version string) string {
	return "pkg:golang/" + path + "@" + version + "?type=module"
}

func sha256Hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
