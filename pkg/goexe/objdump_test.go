package goexe

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// objInst is one line of `go tool objdump` output.
type objInst struct {
	addr  uint64
	bytes []byte
	text  string
}

// goTool runs `go tool <args>` with the given toolchain, outside any module.
func goTool(t *testing.T, toolchain string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command("go", append([]string{"tool"}, args...)...)
	cmd.Dir = os.TempDir()
	cmd.Env = append(os.Environ(), "GOTOOLCHAIN="+toolchain, "GOFLAGS=", "GOWORK=off")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go tool %s: %v\n%s", strings.Join(args, " "), err, stderr.Bytes())
	}
	return out
}

// objdump disassembles the functions matching the regexp with the
// toolchain's own objdump and returns their instructions by function name.
// arm64 encodings are printed as a 32-bit word and are returned as the
// little-endian bytes of the file.
func objdump(t *testing.T, arch Arch, toolchain, bin, funcRE string) map[string][]objInst {
	t.Helper()
	out := goTool(t, toolchain, "objdump", "-s", funcRE, bin)
	res := map[string][]objInst{}
	cur := ""
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if name, ok := strings.CutPrefix(line, "TEXT "); ok {
			cur, _, _ = strings.Cut(name, "(SB)")
			continue
		}
		var parts []string
		for _, p := range strings.Split(line, "\t") {
			if p = strings.TrimSpace(p); p != "" {
				parts = append(parts, p)
			}
		}
		if cur == "" || len(parts) < 4 {
			continue
		}
		addr, err1 := strconv.ParseUint(strings.TrimPrefix(parts[1], "0x"), 16, 64)
		raw, err2 := hex.DecodeString(parts[2])
		if err1 != nil || err2 != nil {
			t.Fatalf("unparsable objdump line %q", line)
		}
		if arch == ARM64 && len(raw) == 4 {
			raw[0], raw[1], raw[2], raw[3] = raw[3], raw[2], raw[1], raw[0]
		}
		res[cur] = append(res[cur], objInst{addr: addr, bytes: raw, text: parts[3]})
	}
	return res
}

// nmAddr returns the address `go tool nm` prints for a symbol.
func nmAddr(t *testing.T, toolchain, bin, sym string) (uint64, bool) {
	t.Helper()
	for _, line := range strings.Split(string(goTool(t, toolchain, "nm", bin)), "\n") {
		f := strings.Fields(line)
		if len(f) == 3 && f[2] == sym {
			v, err := strconv.ParseUint(f[0], 16, 64)
			if err != nil {
				t.Fatalf("nm line %q: %v", line, err)
			}
			return v, true
		}
	}
	return 0, false
}

var (
	reIndirectCallX86   = regexp.MustCompile(`^CALL [A-Z0-9]+$`)
	reIndirectCallARM64 = regexp.MustCompile(`^CALL \(R[0-9]+\)$`)
)

// objCallSite finds the call matching match in fn's objdump and the
// instruction after it; it fails unless there is exactly one.
func objCallSite(t *testing.T, dis map[string][]objInst, fn string, match func(string) bool) (call, resume objInst) {
	t.Helper()
	insts := dis[fn]
	n := 0
	for i, in := range insts {
		if match(in.text) {
			n++
			if i+1 < len(insts) {
				call, resume = in, insts[i+1]
			}
		}
	}
	if n != 1 {
		t.Fatalf("objdump of %s: %d matching calls, want 1", fn, n)
	}
	return call, resume
}

// checkPoint compares a located point with the objdump line at the same
// place, and checks the file bytes at its offset are that instruction.
func checkPoint(t *testing.T, file []byte, what string, p Point, want objInst) {
	t.Helper()
	if p.Addr != want.addr {
		t.Errorf("%s: addr %#x, objdump says %#x (%s)", what, p.Addr, want.addr, want.text)
		return
	}
	if p.Offset+uint64(len(want.bytes)) > uint64(len(file)) || !bytes.Equal(file[p.Offset:p.Offset+uint64(len(want.bytes))], want.bytes) {
		t.Errorf("%s: file bytes at offset %#x are not objdump's %x", what, p.Offset, want.bytes)
	}
	// Symbol names differ (.symtab has ".abi0" suffixes, pclntab does not).
	if strings.ReplaceAll(want.text, ".abi0", "") != p.Inst {
		t.Errorf("%s: text %q, objdump says %q", what, p.Inst, want.text)
	}
}
