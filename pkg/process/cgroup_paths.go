package process

import "slices"

// CgroupPaths returns the distinct cgroup paths of process pid, one per
// hierarchy of its /proc/PID/cgroup in file order (on a cgroup v2 host,
// one). Filters that match a cgroup path try each: on a v1 or hybrid host
// the path that names a slice or a container may be in any hierarchy. It
// returns an error wrapping ErrNoProcess when the process is gone.
func (r *Reader) CgroupPaths(pid int) ([]string, error) {
	pp, err := r.proc(pid)
	if err != nil {
		return nil, err
	}
	cgs, err := pp.Cgroups()
	if err != nil {
		return nil, readErr(pid, "cgroup", err)
	}
	return distinctPaths(fromProcfs(cgs)), nil
}

// ParseCgroupPaths is CgroupPaths on the text of a /proc/PID/cgroup file.
// Malformed lines are ignored.
func ParseCgroupPaths(content string) []string {
	return distinctPaths(parseCgroupLines(content))
}

func distinctPaths(lines []cgroupLine) []string {
	var out []string
	for _, l := range lines {
		if !slices.Contains(out, l.path) {
			out = append(out, l.path)
		}
	}
	return out
}
