package procmem

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The test binary doubles as the child whose memory is read.
func TestMain(m *testing.M) {
	if os.Getenv("MEMSIGHT_PROCMEM_CHILD") == "1" {
		child()
		return
	}
	if target := os.Getenv("MEMSIGHT_PROCMEM_READER"); target != "" {
		os.Exit(reader(target))
	}
	os.Exit(m.Run())
}

var childBuf = func() []byte {
	b := make([]byte, 1<<16)
	for i := range b {
		b[i] = byte(i*7 + 3)
	}
	return b
}()

func child() {
	fmt.Printf("ADDR %x %d\n", uintptr(unsafe.Pointer(&childBuf[0])), len(childBuf))
	bufio.NewReader(os.Stdin).ReadString('\n') // block until the parent closes stdin
}

type childProc struct {
	cmd  *exec.Cmd
	addr uint64
	n    int
}

func startChild(t *testing.T) *childProc {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), "MEMSIGHT_PROCMEM_CHILD=1")
	in, _ := cmd.StdinPipe()
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Close(); cmd.Process.Kill(); cmd.Wait() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	var c childProc
	if _, err := fmt.Sscanf(line, "ADDR %x %d", &c.addr, &c.n); err != nil {
		t.Fatalf("child said %q: %v", line, err)
	}
	c.cmd = cmd
	return &c
}

// gapAfter returns the end of a mapping of pid that is not followed
// directly by another mapping.
func gapAfter(t *testing.T, pid int) uint64 {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/maps", pid))
	if err != nil {
		t.Fatal(err)
	}
	var starts, ends []uint64
	for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		r, _, _ := strings.Cut(l, " ")
		a, b, _ := strings.Cut(r, "-")
		s, _ := strconv.ParseUint(a, 16, 64)
		e, _ := strconv.ParseUint(b, 16, 64)
		starts, ends = append(starts, s), append(ends, e)
	}
	for i := 0; i+1 < len(ends); i++ {
		if starts[i+1] > ends[i] {
			return ends[i]
		}
	}
	t.Fatal("no gap between mappings")
	return 0
}

func TestRead(t *testing.T) {
	c := startChild(t)
	for _, noVM := range []bool{false, true} {
		t.Run(fmt.Sprintf("noVM=%v", noVM), func(t *testing.T) {
			p, err := OpenWith(c.cmd.Process.Pid, Options{NoVM: noVM})
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			buf := make([]byte, c.n)
			if n, err := p.ReadMemory(buf, c.addr); err != nil || n != c.n || !bytes.Equal(buf, childBuf) {
				t.Fatalf("ReadMemory: %d %v, equal %v", n, err, bytes.Equal(buf, childBuf))
			}
			v, err := ReadU64(p, c.addr+8)
			if want := uint64(childBuf[8]) | uint64(childBuf[9])<<8 | uint64(childBuf[10])<<16 | uint64(childBuf[11])<<24 |
				uint64(childBuf[12])<<32 | uint64(childBuf[13])<<40 | uint64(childBuf[14])<<48 | uint64(childBuf[15])<<56; err != nil || v != want {
				t.Errorf("ReadU64 = %#x %v, want %#x", v, err, want)
			}
			if v, err := ReadU32(p, c.addr+100); err != nil || v&0xff != uint32(childBuf[100]) {
				t.Errorf("ReadU32 = %#x %v", v, err)
			}
			if v, err := ReadU8(p, c.addr+1000); err != nil || v != childBuf[1000] {
				t.Errorf("ReadU8 = %#x %v", v, err)
			}
			// Several spans at once.
			a, b := make([]byte, 16), make([]byte, 300)
			if n, err := p.ReadV(Span{c.addr + 5, a}, Span{c.addr + 4000, b}); err != nil || n != 316 ||
				!bytes.Equal(a, childBuf[5:21]) || !bytes.Equal(b, childBuf[4000:4300]) {
				t.Errorf("ReadV: %d %v", n, err)
			}
			if err := ReadV(p, Span{c.addr, a}); err != nil || !bytes.Equal(a, childBuf[:16]) {
				t.Errorf("package ReadV: %v", err)
			}
			// Unmapped address.
			if _, err := p.ReadMemory(a, 0x1000); !errors.Is(err, ErrFault) {
				t.Errorf("read at 0x1000: %v, want ErrFault", err)
			}
			// A range running off the end of a mapping: partial.
			end := gapAfter(t, c.cmd.Process.Pid)
			n, err := p.ReadMemory(make([]byte, 16), end-8)
			if !errors.Is(err, ErrFault) || n != 8 {
				t.Errorf("read across the end of a mapping: %d %v, want 8 and ErrFault", n, err)
			}
		})
	}
}

func TestGoneProcess(t *testing.T) {
	if _, err := Open(1 << 30); !errors.Is(err, ErrNoProcess) {
		t.Errorf("Open of a pid that cannot exist: %v", err)
	}
	c := startChild(t)
	p, err := Open(c.cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	q, err := OpenWith(c.cmd.Process.Pid, Options{NoVM: true})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	c.cmd.Process.Kill()
	c.cmd.Wait()
	deadline := time.Now().Add(5 * time.Second)
	for _, r := range []*Process{p, q} {
		for {
			_, err := r.ReadMemory(make([]byte, 8), c.addr)
			if errors.Is(err, ErrNoProcess) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("read after exit: %v, want ErrNoProcess", err)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

func TestErrorMapping(t *testing.T) {
	p := &Process{pid: 42, procRoot: "/proc"}
	err := p.wrap("reading", unix.EPERM)
	if !errors.Is(err, ErrPermission) || !strings.Contains(err.Error(), "CAP_SYS_PTRACE") {
		t.Errorf("EPERM: %v", err)
	}
	if err := p.wrap("reading", unix.ESRCH); !errors.Is(err, ErrNoProcess) {
		t.Errorf("ESRCH: %v", err)
	}
	if err := p.wrap("reading", unix.EFAULT); !errors.Is(err, ErrFault) {
		t.Errorf("EFAULT: %v", err)
	}
}

// reader runs as an unprivileged process and reads "pid:addr"; its exit
// code says what happened: 0 read, 3 ErrPermission, 1 anything else.
func reader(target string) int {
	var pid int
	var addr uint64
	fmt.Sscanf(target, "%d:%x", &pid, &addr)
	p, err := Open(pid)
	if err == nil {
		_, err = p.ReadMemory(make([]byte, 8), addr)
	}
	fmt.Println(err)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, ErrPermission):
		return 3
	}
	return 1
}

// TestPermission reads a root process as uid 65534: the kernel refuses
// and the error says so, with the hint.
func TestPermission(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to start a reader under another uid")
	}
	c := startChild(t)
	exe, _ := os.Executable()
	dir := t.TempDir()
	os.Chmod(dir, 0o755)
	os.Chmod(filepath.Dir(dir), 0o755)
	copyExe := dir + "/reader"
	data, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(copyExe, data, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(copyExe)
	cmd.Env = append(os.Environ(), fmt.Sprintf("MEMSIGHT_PROCMEM_READER=%d:%x", c.cmd.Process.Pid, c.addr))
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 || !strings.Contains(string(out), "CAP_SYS_PTRACE") {
		t.Fatalf("unprivileged reader: %v\n%s", err, out)
	}
}
