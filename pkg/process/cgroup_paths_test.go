package process

import (
	"os"
	"slices"
	"testing"
)

// TestParseCgroupPaths: one path per hierarchy, duplicates removed, in file
// order.
func TestParseCgroupPaths(t *testing.T) {
	b, err := os.ReadFile("testdata/cgroup/hybrid-process-api")
	if err != nil {
		t.Fatal(err)
	}
	got := ParseCgroupPaths(string(b))
	want := []string{"/", "/process_api/341de6b6adbdd882fc34609b3fa3a694",
		"/memsight-test-1/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod9c1e5b0e_3f5a_4c2d_8b7e_1a2b3c4d5e6f.slice/cri-containerd-df0ca5cb5d973e284b1df81aa15bfa20d4d2271f6093274344dffb40b667ae26.scope"}
	if !slices.Equal(got, want) {
		t.Errorf("ParseCgroupPaths = %q, want %q", got, want)
	}
	if got := ParseCgroupPaths("garbage\n0::/init.scope\n"); !slices.Equal(got, []string{"/init.scope"}) {
		t.Errorf("ParseCgroupPaths(v2) = %q", got)
	}
}

// TestReaderCgroupPaths: the reader's paths of this process are those of
// its /proc/self/cgroup.
func TestReaderCgroupPaths(t *testing.T) {
	r := newReader(t)
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	got, err := r.CgroupPaths(os.Getpid())
	if err != nil || !slices.Equal(got, ParseCgroupPaths(string(b))) {
		t.Errorf("CgroupPaths(self) = %q, %v; /proc/self/cgroup:\n%s", got, err, b)
	}
	if _, err := r.CgroupPaths(deadPID(t)); err == nil {
		t.Error("CgroupPaths of an exited process: no error")
	}
}
