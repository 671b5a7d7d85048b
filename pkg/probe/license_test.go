package probe

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
)

// bpfLicense is what the BPF programs declare to the kernel and
// bpfSPDX what their sources say (bpf/README.md): GPL-compatible, as the
// GPL-only helpers they call require.
const (
	bpfLicense = "Dual BSD/GPL"
	bpfSPDX    = "(GPL-2.0-only OR BSD-2-Clause)"
	uapiSPDX   = "(GPL-2.0 WITH Linux-syscall-note) OR BSD-2-Clause"
)

// TestLicenses checks the licensing the repository states: every BPF source
// and header opens with its SPDX line, each license it names has its text
// in bpf/LICENSES/, every program of both committed objects declares "Dual
// BSD/GPL", and LICENSE (the Go code's) is Apache-2.0.
func TestLicenses(t *testing.T) {
	var files []string
	for _, pat := range []string{"../../bpf/*.c", "../../bpf/include/*/*.h"} {
		m, err := filepath.Glob(pat)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	if len(files) < 5 {
		t.Fatalf("found only %d BPF sources: %v", len(files), files)
	}
	for _, f := range files {
		want := bpfSPDX
		if filepath.Base(filepath.Dir(f)) == "asm" {
			want = uapiSPDX
		}
		line := firstLine(t, f)
		line = strings.TrimSuffix(strings.TrimSpace(strings.TrimLeft(line, "/* ")), "*/")
		if got := strings.TrimSpace(strings.TrimPrefix(line, "SPDX-License-Identifier:")); got != want || !strings.HasPrefix(line, "SPDX-License-Identifier:") {
			t.Errorf("%s: first line %q: want SPDX-License-Identifier: %s", f, firstLine(t, f), want)
		}
	}
	for _, id := range []string{"GPL-2.0-only", "BSD-2-Clause", "Linux-syscall-note"} {
		if _, err := os.Stat(filepath.Join("../../bpf/LICENSES", id+".txt")); err != nil {
			t.Errorf("license text of %s: %v", id, err)
		}
	}
	if l := firstLine(t, "../../LICENSE"); l != "Apache License" {
		t.Errorf("LICENSE begins %q: want the Apache License 2.0", l)
	}
	for _, obj := range []string{"memsight_x86_bpfel.o", "memsight_arm64_bpfel.o"} {
		spec, err := ebpf.LoadCollectionSpec(obj)
		if err != nil {
			t.Fatalf("reading %s: %v", obj, err)
		}
		for name, p := range spec.Programs {
			if p.License != bpfLicense {
				t.Errorf("%s: program %s declares license %q, want %q", obj, name, p.License, bpfLicense)
			}
		}
	}
}

func firstLine(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if l := strings.TrimSpace(sc.Text()); l != "" {
			return l
		}
	}
	return ""
}
