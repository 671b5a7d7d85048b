package process

import (
	"errors"
	"os"
	"os/exec"
	"testing"
)

// TestResident: statm's numbers agree with status's for the same process
// (both read the kernel's counters; the test's own memory may move by a
// few pages between the two reads).
func TestResident(t *testing.T) {
	r, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	pid := os.Getpid()
	res, err := r.Resident(pid)
	if err != nil {
		t.Fatal(err)
	}
	m, err := r.Memory(pid)
	if err != nil {
		t.Fatal(err)
	}
	const slack = 4 << 20
	near := func(a, b uint64) bool { return a+slack >= b && b+slack >= a }
	// Reading its own statm, the test holds one more fd than when status
	// was read.
	if !near(res.RSS, m.RSS) || !near(res.Anon(), m.RssAnon) || !near(res.Shared, m.RssFile+m.RssShmem) || res.FDs != m.FDs+1 {
		t.Errorf("statm %+v (anon %d), status %+v", res, res.Anon(), m)
	}
	if _, err := r.Resident(1 << 22); err == nil {
		t.Error("Resident of a missing pid succeeded")
	}
}

// TestResidentFile: a ResidentFile keeps reading a live process and says
// ErrNoProcess once it has exited.
func TestResidentFile(t *testing.T) {
	r, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sleep", "30")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	rf, err := r.OpenResident(cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	defer rf.Close()
	for range 3 {
		res, err := rf.Read()
		if err != nil || res.RSS == 0 || res.FDs < 3 {
			t.Fatalf("sleep: %+v, %v", res, err)
		}
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	if res, err := rf.Read(); !errors.Is(err, ErrNoProcess) {
		t.Errorf("after exit: %+v, %v; want ErrNoProcess", res, err)
	}
}
