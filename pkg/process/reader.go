package process

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"syscall"
	"time"

	"github.com/prometheus/procfs"
)

// ErrNoProcess means the process does not exist (any more), or the PID names
// a thread rather than a process. It is memsight's one sentinel for "the
// process is gone": pkg/procmem's ErrNoProcess is this error, and every
// later stage (pkg/target, pkg/observe, pkg/profiles) wraps it.
var ErrNoProcess = errors.New("no such process")

// userHZ is the unit of the time fields of /proc/PID/stat. It is 100 on every
// architecture Go supports (procfs assumes the same).
const userHZ = 100

// pfKthread is PF_KTHREAD in the flags field of /proc/PID/stat.
const pfKthread = 0x00200000

// Config configures a Reader.
type Config struct {
	// ProcRoot is where procfs is mounted; "" means "/proc". Point it at the
	// host's procfs (e.g. "/host/proc") when running in a container, or at a
	// fixture directory in tests.
	ProcRoot string
}

// Reader reads process facts from one procfs mount. It holds no per-process
// state and is safe for concurrent use.
type Reader struct {
	root string
	fs   procfs.FS
	boot time.Time // from btime in <root>/stat, read once so start times are stable
}

// Process is a snapshot of one process. Memory sizes are in bytes.
type Process struct {
	PID     int
	PPID    int
	Comm    string   // from stat; at most 15 bytes, set by the process itself
	Exe     string   // readlink of /proc/PID/exe; may end with " (deleted)"; "" if unreadable
	Cmdline []string // empty for zombies and when unreadable

	UID       int       // effective UID (what ps shows as USER)
	StartTime time.Time // boot time + starttime; second precision of btime

	RSS, RssAnon, RssFile, RssShmem, VmHWM uint64 // from /proc/PID/status

	Threads int
	FDs     int // -1 if /proc/PID/fd is unreadable

	CgroupPath       string // see ParseCgroup for which hierarchy
	ContainerID      string // 64 lowercase hex digits, or ""
	PodUID           string // Kubernetes pod UID with dashes, or ""
	ContainerRuntime string // "containerd", "cri-o", "docker", "podman" or ""
}

// New returns a Reader for the procfs mounted at cfg.ProcRoot. It reads the
// boot time once, from <root>/stat.
func New(cfg Config) (*Reader, error) {
	root := cfg.ProcRoot
	if root == "" {
		root = procfs.DefaultMountPoint
	}
	pfs, err := procfs.NewFS(root)
	if err != nil {
		return nil, fmt.Errorf("no procfs at %s: %w", root, pathError(err))
	}
	st, err := pfs.Stat()
	if err != nil {
		return nil, fmt.Errorf("no procfs at %s: %w", root, pathError(err))
	}
	if st.BootTime == 0 {
		return nil, fmt.Errorf("no procfs at %s: no btime line in %s", root, filepath.Join(root, "stat"))
	}
	return &Reader{root: root, fs: pfs, boot: time.Unix(int64(st.BootTime), 0)}, nil
}

// Get returns a snapshot of the process pid. It returns an error wrapping
// ErrNoProcess when no such process exists, when it exits while being read,
// or when pid is a thread (not the thread group leader) of some process.
// Kernel threads are returned like any process (List skips them).
//
// Only stat and status must be readable; the executable, command line, file
// descriptors and cgroup are left empty (FDs -1) when access is denied.
func (r *Reader) Get(pid int) (Process, error) {
	p, _, err := r.read(pid, false)
	return p, err
}

// List returns every process visible in procfs except kernel threads, sorted
// by PID. Processes that exit while being read, and those whose stat or
// status this caller may not read (hidepid), are skipped without error.
//
// Any other per-process failure does not stop the listing: List returns the
// processes it could read together with an error naming the others. It
// returns ctx.Err() when ctx is done.
func (r *Reader) List(ctx context.Context) ([]Process, error) {
	all, err := r.fs.AllProcs()
	if err != nil {
		return nil, fmt.Errorf("listing processes in %s: %w", r.root, err)
	}
	out := make([]Process, 0, len(all))
	var errs []error
	for _, pp := range all {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		p, kernel, err := r.read(pp.PID, true)
		switch {
		case errors.Is(err, ErrNoProcess), errors.Is(err, fs.ErrPermission):
			continue
		case err != nil:
			errs = append(errs, err)
		case !kernel:
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b Process) int { return a.PID - b.PID })
	return out, errors.Join(errs...)
}

// read reads process pid. When listing, a kernel thread is detected from
// stat and returned as kernel=true without reading anything else.
func (r *Reader) read(pid int, listing bool) (p Process, kernel bool, err error) {
	pp, st, status, err := r.stats(pid)
	if err != nil {
		return Process{}, false, err
	}
	kernel = st.Flags&pfKthread != 0
	if kernel && listing {
		return Process{}, true, nil
	}
	p = Process{
		PID:       pid,
		PPID:      st.PPID,
		Comm:      st.Comm,
		UID:       int(status.UIDs[1]),
		StartTime: r.boot.Add(time.Duration(st.Starttime) * time.Second / userHZ),
		RSS:       status.VmRSS,
		RssAnon:   status.RssAnon,
		RssFile:   status.RssFile,
		RssShmem:  status.RssShmem,
		VmHWM:     status.VmHWM,
		Threads:   st.NumThreads,
	}
	if p.Exe, err = pp.Executable(); err != nil {
		if r.gone(pid, err) {
			return Process{}, kernel, noProcess(pid)
		}
		p.Exe = ""
	}
	if p.Cmdline, err = pp.CmdLine(); err != nil {
		if r.gone(pid, err) {
			return Process{}, kernel, noProcess(pid)
		}
		p.Cmdline = nil
	}
	if p.FDs, err = r.fdCount(pp); err != nil {
		return Process{}, kernel, err
	}
	cgs, err := pp.Cgroups()
	if err != nil && r.gone(pid, err) {
		return Process{}, kernel, noProcess(pid)
	}
	if err == nil {
		p.CgroupPath, p.ContainerID, p.PodUID, p.ContainerRuntime = pickCgroup(fromProcfs(cgs))
	}
	return p, kernel, nil
}

// stats opens pid and reads its stat and status, the two files every caller
// needs. It rejects PIDs that name a non-leader thread.
func (r *Reader) stats(pid int) (procfs.Proc, procfs.ProcStat, procfs.ProcStatus, error) {
	pp, err := r.proc(pid)
	if err != nil {
		return procfs.Proc{}, procfs.ProcStat{}, procfs.ProcStatus{}, err
	}
	st, err := pp.Stat()
	if err != nil {
		return procfs.Proc{}, procfs.ProcStat{}, procfs.ProcStatus{}, readErr(pid, "stat", err)
	}
	status, err := pp.NewStatus()
	if err != nil {
		return procfs.Proc{}, procfs.ProcStat{}, procfs.ProcStatus{}, readErr(pid, "status", err)
	}
	if status.TGID != 0 && status.TGID != pid {
		return procfs.Proc{}, procfs.ProcStat{}, procfs.ProcStatus{},
			fmt.Errorf("pid %d is a thread of process %d: %w", pid, status.TGID, ErrNoProcess)
	}
	return pp, st, status, nil
}

// proc returns the procfs handle of pid, or ErrNoProcess.
func (r *Reader) proc(pid int) (procfs.Proc, error) {
	if pid <= 0 {
		return procfs.Proc{}, noProcess(pid)
	}
	pp, err := r.fs.Proc(pid)
	if err != nil {
		return procfs.Proc{}, readErr(pid, "", err)
	}
	return pp, nil
}

// path returns the path of a file of pid under the procfs root.
func (r *Reader) path(pid int, elem ...string) string {
	return r.pathOf(append([]string{strconv.Itoa(pid)}, elem...)...)
}

// pathOf returns the path of a file under the procfs root.
func (r *Reader) pathOf(elem ...string) string {
	return filepath.Join(append([]string{r.root}, elem...)...)
}

// Root is the procfs mount point the Reader reads (Config.ProcRoot): every
// stage that reaches a process through /proc uses this one.
func (r *Reader) Root() string { return r.root }

// fdCount counts the open file descriptors of pp: -1 when the fd directory
// is unreadable, ErrNoProcess when the process is gone.
func (r *Reader) fdCount(pp procfs.Proc) (int, error) {
	n, err := pp.FileDescriptorsLen()
	switch {
	case err == nil:
		return n, nil
	case r.gone(pp.PID, err):
		return -1, noProcess(pp.PID)
	default:
		return -1, nil
	}
}

// vanished reports whether err says the process (or its /proc entry) is gone:
// ENOENT when opening, ESRCH when reading a file of an exiting process.
func vanished(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ESRCH)
}

// gone reports whether err, from reading a file that need not exist, means
// that process pid is gone: ESRCH, or ENOENT and /proc/PID is gone too.
func (r *Reader) gone(pid int, err error) bool {
	if errors.Is(err, syscall.ESRCH) {
		return true
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return false
	}
	_, serr := os.Stat(r.path(pid))
	return serr != nil
}

func noProcess(pid int) error { return fmt.Errorf("pid %d: %w", pid, ErrNoProcess) }

// readErr wraps an error reading file (e.g. "stat") of pid, turning a
// vanished process into ErrNoProcess.
func readErr(pid int, file string, err error) error {
	if vanished(err) {
		return noProcess(pid)
	}
	if file == "" {
		return fmt.Errorf("opening pid %d: %w", pid, permission(err))
	}
	return fmt.Errorf("reading %s of pid %d: %w", file, pid, permission(err))
}

// pathError digs the *fs.PathError ("open /x/stat: no such file or
// directory") out of a procfs error, whose own wording repeats the path.
func pathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe
	}
	return err
}
