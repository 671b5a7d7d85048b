package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"testing"

	cdx "github.com/CycloneDX/cyclonedx-go"
)

// TestSBOM writes the SBOM of a real binary (this test's own, which has
// build info and dependencies) through the command, reads it back with the
// CycloneDX decoder and checks what a scanner needs: the application with
// its version, hash and license, the toolchain's stdlib, every module the
// build info lists with its version, the BPF object; and that the same
// inputs give the same bytes.
func TestSBOM(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bpf := "../../pkg/probe/memsight_x86_bpfel.o"
	dir := t.TempDir()
	write := func(name string) []byte {
		out := filepath.Join(dir, name)
		if err := run([]string{"-o", out, "-version", "v0.1.0", "-bpf", bpf, "-time", "1767225600", exe}); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	b := write("a.cdx.json")
	if !bytes.Equal(b, write("b.cdx.json")) {
		t.Error("two runs on the same inputs wrote different SBOMs")
	}

	var bom cdx.BOM
	if err := cdx.NewBOMDecoder(bytes.NewReader(b), cdx.BOMFileFormatJSON).Decode(&bom); err != nil {
		t.Fatalf("decoding the SBOM: %v", err)
	}
	if bom.SpecVersion != cdx.SpecVersion1_6 || bom.SerialNumber == "" || bom.Metadata == nil || bom.Metadata.Timestamp != "2026-01-01T00:00:00Z" {
		t.Fatalf("header: spec %v serial %q metadata %+v", bom.SpecVersion, bom.SerialNumber, bom.Metadata)
	}
	app := bom.Metadata.Component
	exeBytes, _ := os.ReadFile(exe)
	if app == nil || app.Name != "memsight" || app.Version != "v0.1.0" || app.Hashes == nil || (*app.Hashes)[0].Value != sha256Hex(exeBytes) ||
		app.Licenses == nil || (*app.Licenses)[0].Expression != memsightLicense {
		t.Errorf("application component: %+v", app)
	}
	byName := map[string]cdx.Component{}
	for _, c := range *bom.Components {
		byName[c.Name] = c
	}
	if c := byName["stdlib"]; c.Version != runtime.Version() {
		t.Errorf("stdlib component %+v: want version %s", c, runtime.Version())
	}
	if c := byName["memsight_x86_bpfel.o"]; c.Type != cdx.ComponentTypeFile || c.Licenses == nil || (*c.Licenses)[0].Expression != bpfLicense {
		t.Errorf("BPF object component: %+v", c)
	}
	// Every module `go version -m` lists is there, with its version.
	out, err := exec.Command("go", "version", "-m", exe).Output()
	if err != nil {
		t.Fatal(err)
	}
	deps := 0
	for _, line := range bytes.Split(out, []byte("\n")) {
		f := bytes.Fields(line)
		if len(f) < 3 || string(f[0]) != "dep" {
			continue
		}
		deps++
		if c, ok := byName[string(f[1])]; !ok || c.Version != string(f[2]) || c.PackageURL != modulePURL(string(f[1]), string(f[2])) {
			t.Errorf("module %s %s: component %+v", f[1], f[2], c)
		}
	}
	if deps == 0 {
		t.Fatalf("go version -m lists no dependency of %s:\n%s", exe, out)
	}
	root := (*bom.Dependencies)[0]
	if root.Ref != app.BOMRef || len(*root.Dependencies) != len(*bom.Components) || !slices.Contains(*root.Dependencies, "pkg:golang/stdlib@"+runtime.Version()[2:]) {
		t.Errorf("dependencies: %+v", root)
	}
}
