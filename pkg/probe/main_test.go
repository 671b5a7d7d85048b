package probe

import (
	"fmt"
	"os"
	"testing"
)

// TestMain fails the run when the tests leave file descriptors open: every
// Probes, Attachment, ring-buffer reader and inspected binary must be closed.
func TestMain(m *testing.M) {
	// Start the runtime's network poller (it keeps an epoll fd and an
	// eventfd for good) before counting.
	if r, w, err := os.Pipe(); err == nil {
		r.Close()
		w.Close()
	}
	before, err := openFDs()
	code := m.Run()
	if err == nil && code == 0 {
		after, err := openFDs()
		if err == nil && len(after) > len(before) {
			fmt.Fprintf(os.Stderr, "file descriptors left open: %d before the tests, %d after:\n", len(before), len(after))
			for fd, target := range after {
				if before[fd] != target {
					fmt.Fprintf(os.Stderr, "  %s -> %s\n", fd, target)
				}
			}
			code = 1
		}
	}
	os.Exit(code)
}

func openFDs() (map[string]string, error) {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return nil, err
	}
	fds := make(map[string]string, len(ents))
	for _, e := range ents {
		target, _ := os.Readlink("/proc/self/fd/" + e.Name())
		fds[e.Name()] = target
	}
	return fds, nil
}
