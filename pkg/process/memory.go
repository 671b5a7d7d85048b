package process

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// Memory is the cheap, frequently sampled part of a Process. Sizes are in
// bytes and come from /proc/PID/status, whose counters the kernel keeps
// incrementally (no page-table walk, unlike smaps_rollup), so sampling every
// second is cheap even for large processes.
type Memory struct {
	RSS      uint64 // VmRSS = RssAnon + RssFile + RssShmem
	RssAnon  uint64
	RssFile  uint64
	RssShmem uint64
	VmHWM    uint64 // peak RSS
	Threads  int
	FDs      int // -1 if /proc/PID/fd is unreadable
}

// Memory samples the memory, thread and file descriptor counts of pid. It
// reads status (parsing only the lines it needs) and the size of the fd
// directory (one stat call on Linux ≥ 6.2). It returns an error wrapping
// ErrNoProcess when pid does not exist or has exited, or is a thread.
func (r *Reader) Memory(pid int) (Memory, error) {
	if pid <= 0 {
		return Memory{}, noProcess(pid)
	}
	data, err := os.ReadFile(r.path(pid, "status"))
	if err != nil {
		return Memory{}, readErr(pid, "status", err)
	}
	m, tgid, err := parseStatus(data)
	if err != nil {
		return Memory{}, fmt.Errorf("pid %d: %w", pid, err)
	}
	if tgid != 0 && tgid != pid {
		return Memory{}, fmt.Errorf("pid %d is a thread of process %d: %w", pid, tgid, ErrNoProcess)
	}
	pp, err := r.proc(pid)
	if err != nil {
		return Memory{}, err
	}
	if m.FDs, err = r.fdCount(pp); err != nil {
		return Memory{}, err
	}
	return m, nil
}

// parseStatus takes the memory and thread counts from /proc/PID/status
// ("VmRSS:	  1234 kB" lines), and the Tgid.
func parseStatus(data []byte) (m Memory, tgid int, err error) {
	for line := range strings.SplitSeq(string(data), "\n") {
		key, val, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		var dst *uint64
		switch key {
		case "VmRSS":
			dst = &m.RSS
		case "RssAnon":
			dst = &m.RssAnon
		case "RssFile":
			dst = &m.RssFile
		case "RssShmem":
			dst = &m.RssShmem
		case "VmHWM":
			dst = &m.VmHWM
		case "Threads", "Tgid":
			n, err := strconv.Atoi(strings.TrimSpace(val))
			if err != nil {
				return m, 0, fmt.Errorf("status line %q: %w", line, err)
			}
			if key == "Threads" {
				m.Threads = n
			} else {
				tgid = n
			}
			continue
		default:
			continue
		}
		num, unit, _ := strings.Cut(strings.TrimSpace(val), " ")
		n, err := strconv.ParseUint(num, 10, 64)
		if err != nil {
			return m, 0, fmt.Errorf("status line %q: %w", line, err)
		}
		if unit == "kB" {
			n <<= 10
		}
		*dst = n
	}
	// A zombie's status has no memory lines: zeros.
	return m, tgid, nil
}

// Resident is the part of Memory that changes from second to second, read
// cheaply: /proc/PID/statm (one small file of numbers: the kernel formats
// seven counters, no page-table walk) and the fd count (one stat of the fd
// directory on Linux ≥ 6.2).
type Resident struct {
	RSS    uint64 // resident pages, as VmRSS
	Shared uint64 // resident file-backed and shared memory pages (RssFile + RssShmem)
	FDs    int    // -1 if /proc/PID/fd is unreadable
}

// Anon returns the resident anonymous memory (RssAnon).
func (r Resident) Anon() uint64 {
	if r.Shared > r.RSS {
		return 0
	}
	return r.RSS - r.Shared
}

// Resident reads statm and the fd count of pid. It returns an error
// wrapping ErrNoProcess when pid does not exist or has exited. To read one
// process every second, OpenResident keeps statm open instead.
func (r *Reader) Resident(pid int) (Resident, error) {
	rf, err := r.OpenResident(pid)
	if err != nil {
		return Resident{}, err
	}
	defer rf.Close()
	return rf.Read()
}

// ResidentFile reads one process's Resident with two system calls: a pread
// of its statm, kept open, and a stat of its fd directory. It is not safe
// for concurrent use.
type ResidentFile struct {
	pid   int
	statm *os.File
	fdDir string
	buf   [256]byte
}

// OpenResident opens pid's statm for repeated Resident reads.
func (r *Reader) OpenResident(pid int) (*ResidentFile, error) {
	if pid <= 0 {
		return nil, noProcess(pid)
	}
	f, err := os.Open(r.path(pid, "statm"))
	if err != nil {
		return nil, readErr(pid, "statm", err)
	}
	return &ResidentFile{pid: pid, statm: f, fdDir: r.path(pid, "fd")}, nil
}

// Read reads the process's statm and fd count.
func (rf *ResidentFile) Read() (Resident, error) {
	n, err := rf.statm.ReadAt(rf.buf[:], 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return Resident{}, readErr(rf.pid, "statm", err)
	}
	f := strings.Fields(string(rf.buf[:n]))
	if len(f) < 3 {
		// An exited process's statm reads empty.
		return Resident{}, noProcess(rf.pid)
	}
	resident, err1 := strconv.ParseUint(f[1], 10, 64)
	shared, err2 := strconv.ParseUint(f[2], 10, 64)
	if err1 != nil || err2 != nil {
		return Resident{}, fmt.Errorf("pid %d: statm %q: not numbers", rf.pid, rf.buf[:n])
	}
	fds := -1
	var st syscall.Stat_t
	switch err := syscall.Stat(rf.fdDir, &st); {
	case err == nil && st.Size > 0:
		fds = int(st.Size) // Linux ≥ 6.2: the number of open fds
	case err == nil:
		fds = countDir(rf.fdDir)
	case vanished(err):
		return Resident{}, noProcess(rf.pid)
	}
	page := uint64(os.Getpagesize())
	return Resident{RSS: resident * page, Shared: shared * page, FDs: fds}, nil
}

// countDir counts the entries of a directory, -1 when unreadable.
func countDir(dir string) int {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return -1
	}
	return len(ents)
}

// Close closes statm.
func (rf *ResidentFile) Close() error { return rf.statm.Close() }
