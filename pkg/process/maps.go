package process

import (
	"fmt"
	"os"
	"strings"
	"syscall"

	"github.com/prometheus/procfs"
)

// Mapping is one line of /proc/PID/maps.
type Mapping struct {
	Start, End uint64
	Offset     uint64 // file offset of Start
	Perms      string // as in maps: "r-xp"
	Dev        uint64 // mkdev(major, minor) of the mapped file
	Inode      uint64
	Path       string // as in maps; may end with " (deleted)"
}

// ExeKey returns the device and inode of pid's executable, from stat(2) of
// /proc/PID/exe, which reaches the file even when it was deleted or lives in
// another mount namespace. It is the key under which facts about the binary
// can be cached. dev is st_dev of the file as this process sees it, which on
// overlayfs differs from the Dev of the file's mappings in /proc/PID/maps.
func (r *Reader) ExeKey(pid int) (dev, ino uint64, err error) {
	if pid <= 0 {
		return 0, 0, noProcess(pid)
	}
	fi, err := os.Stat(r.path(pid, "exe"))
	if err != nil {
		return 0, 0, r.exeErr(pid, err)
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, 0, fmt.Errorf("stat of pid %d executable: no stat_t", pid)
	}
	return st.Dev, st.Ino, nil
}

// ExeMappings returns the lines of /proc/PID/maps that map pid's executable
// (the path /proc/PID/exe points to, including a " (deleted)" suffix when the
// file was removed or replaced after exec), in address order. The result is
// empty, without error, if the executable is not mapped under that path.
func (r *Reader) ExeMappings(pid int) ([]Mapping, error) {
	pp, err := r.proc(pid)
	if err != nil {
		return nil, err
	}
	exe, err := pp.Executable()
	if err != nil {
		return nil, readErr(pid, "exe", err)
	}
	if exe == "" {
		return nil, r.exeErr(pid, os.ErrNotExist)
	}
	maps, err := pp.ProcMaps()
	if err != nil {
		return nil, readErr(pid, "maps", err)
	}
	want := mapsPath(exe)
	var out []Mapping
	for _, m := range maps {
		if m.Pathname == want {
			out = append(out, fromProcMap(m))
		}
	}
	return out, nil
}

// LoadBias returns the load bias of an executable: the difference between the
// addresses its code runs at and the virtual addresses in its ELF file.
// maps are the executable's mappings (ExeMappings); firstLoadVaddr and
// firstLoadOff are p_vaddr and p_offset of its first PT_LOAD program header,
// which the caller reads from the file.
//
// The bias is the start of the mapping with file offset 0 (the lowest, if
// several) minus (p_vaddr - p_offset) of the first PT_LOAD. For a
// position-dependent executable (ET_EXEC) it is 0; for a PIE it is where the
// kernel placed it. ok is false when no mapping has offset 0 or the values
// are inconsistent (the bias would be negative).
func LoadBias(maps []Mapping, firstLoadVaddr, firstLoadOff uint64) (bias uint64, ok bool) {
	var base uint64
	found := false
	for _, m := range maps {
		if m.Offset == 0 && (!found || m.Start < base) {
			base, found = m.Start, true
		}
	}
	if !found || firstLoadVaddr < firstLoadOff {
		return 0, false
	}
	delta := firstLoadVaddr - firstLoadOff
	if base < delta {
		return 0, false
	}
	return base - delta, true
}

// exeErr explains a missing /proc/PID/exe: the process is gone, or it has no
// executable (kernel thread, zombie).
func (r *Reader) exeErr(pid int, err error) error {
	if !vanished(err) {
		return fmt.Errorf("reading executable of pid %d: %w", pid, permission(err))
	}
	if _, serr := os.Stat(r.path(pid)); serr != nil {
		return noProcess(pid)
	}
	return fmt.Errorf("pid %d has no executable (kernel thread or zombie): %w", pid, err)
}

// mapsPath returns path as /proc/PID/maps shows it after procfs parsing: the
// kernel escapes newlines as \012, and procfs joins the path's fields with
// single spaces.
func mapsPath(path string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(path, "\n", `\012`)), " ")
}

func fromProcMap(m *procfs.ProcMap) Mapping {
	perms := []byte("----")
	if p := m.Perms; p != nil {
		if p.Read {
			perms[0] = 'r'
		}
		if p.Write {
			perms[1] = 'w'
		}
		if p.Execute {
			perms[2] = 'x'
		}
		switch {
		case p.Shared:
			perms[3] = 's'
		case p.Private:
			perms[3] = 'p'
		}
	}
	return Mapping{
		Start:  uint64(m.StartAddr),
		End:    uint64(m.EndAddr),
		Offset: uint64(m.Offset),
		Perms:  string(perms),
		Dev:    m.Dev,
		Inode:  m.Inode,
		Path:   m.Pathname,
	}
}
