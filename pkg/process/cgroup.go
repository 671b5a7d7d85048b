package process

import (
	"slices"
	"strconv"
	"strings"

	"github.com/prometheus/procfs"
)

// Container runtimes ParseCgroup recognises.
const (
	RuntimeContainerd = "containerd"
	RuntimeCRIO       = "cri-o"
	RuntimeDocker     = "docker"
	RuntimePodman     = "podman"
)

// cgroupLine is one line of /proc/PID/cgroup: hierarchy-ID:controllers:path.
type cgroupLine struct {
	hierarchy   string
	controllers string
	path        string
}

// ParseCgroup finds the container and Kubernetes pod of a process from the
// text of its /proc/PID/cgroup, for cgroup v1, v2 and hybrid layouts. It is a
// pure function; malformed lines are ignored.
//
// Hierarchies are tried in the order memory, name=systemd, the v2 hierarchy
// ("0::"), then the rest in file order; the first whose path names a
// container, a pod or a runtime wins and path is its cgroup path. When none
// does, path is the first of them that is not "/" and the IDs are empty.
//
// Recognised shapes (the deepest matching path element wins, and nothing
// above the pod element is taken as the container):
//
//	systemd driver  …/kubepods-<qos>-pod<uid_with_underscores>.slice/cri-containerd-<id>.scope  (also crio-, docker-)
//	                …/kubepods-<qos>-pod<uid>.slice:cri-containerd:<id>                          (v1 with containerd)
//	cgroupfs driver /kubepods/<qos>/pod<uid>/<id>, /kubepods/pod<uid>/<id> (runtime unknown: "")
//	docker          /docker/<id>, /system.slice/docker-<id>.scope
//	podman          /machine.slice/libpod-<id>.scope
//
// Any element that is exactly 64 hex digits is taken as a container ID (that
// is how cgroupfs drivers name containers); its runtime is unknown ("")
// unless its parent element is "docker".
//
// containerID is 64 lowercase hex digits. podUID is the pod UID with dashes
// (8-4-4-4-12 hex), or 32 hex digits for static pods, whose UID is a hash.
// A crio-conmon-<id>.scope (or libpod-conmon-) element is conmon, the
// runtime's monitor process, not the container: runtime is set (cri-o or
// podman) and the pod UID too, but containerID stays empty so conmon's memory
// is not attributed to the container. Paths such as /user.slice/… and
// /init.scope give empty IDs.
func ParseCgroup(content string) (path, containerID, podUID, runtime string) {
	return pickCgroup(parseCgroupLines(content))
}

// parseCgroupLines splits a /proc/PID/cgroup file, skipping malformed lines.
func parseCgroupLines(content string) []cgroupLine {
	var lines []cgroupLine
	for l := range strings.SplitSeq(content, "\n") {
		id, rest, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		ctrl, p, ok := strings.Cut(rest, ":")
		if !ok {
			continue
		}
		lines = append(lines, cgroupLine{hierarchy: id, controllers: ctrl, path: p})
	}
	return lines
}

// fromProcfs converts procfs's parsed cgroup file.
func fromProcfs(cgs []procfs.Cgroup) []cgroupLine {
	lines := make([]cgroupLine, len(cgs))
	for i, c := range cgs {
		lines[i] = cgroupLine{
			hierarchy:   strconv.Itoa(c.HierarchyID),
			controllers: strings.Join(c.Controllers, ","),
			path:        c.Path,
		}
	}
	return lines
}

// pickCgroup chooses the hierarchy to report; see ParseCgroup.
func pickCgroup(lines []cgroupLine) (path, containerID, podUID, runtime string) {
	order := slices.Clone(lines)
	slices.SortStableFunc(order, func(a, b cgroupLine) int { return rank(a) - rank(b) })
	for _, l := range order {
		if c, p, rt := classify(l.path); c != "" || p != "" || rt != "" {
			return l.path, c, p, rt
		}
	}
	for _, l := range order {
		if l.path != "/" && l.path != "" {
			return l.path, "", "", ""
		}
	}
	if len(order) > 0 {
		return order[0].path, "", "", ""
	}
	return "", "", "", ""
}

func rank(l cgroupLine) int {
	ctrls := strings.Split(l.controllers, ",")
	switch {
	case slices.Contains(ctrls, "memory"):
		return 0
	case slices.Contains(ctrls, "name=systemd"):
		return 1
	case l.hierarchy == "0" && l.controllers == "":
		return 2
	default:
		return 3
	}
}

// classify finds the container, pod and runtime in one cgroup path.
func classify(path string) (containerID, podUID, runtime string) {
	var elems []string
	for e := range strings.SplitSeq(path, "/") {
		// The systemd driver on v1 with containerd writes
		// "<pod slice>:<runtime prefix>:<id>" as one element.
		if parts := strings.Split(e, ":"); len(parts) == 3 {
			elems = append(elems, parts[0], parts[1]+"-"+parts[2])
			continue
		}
		elems = append(elems, e)
	}
	conmon := false
	for i := len(elems) - 1; i >= 0; i-- {
		if uid, ok := podElem(elems[i]); ok {
			return containerID, uid, runtime
		}
		if containerID != "" || conmon {
			continue
		}
		parent := ""
		if i > 0 {
			parent = elems[i-1]
		}
		if id, rt, isConmon, ok := containerElem(elems[i], parent); ok {
			if isConmon {
				conmon = true
			} else {
				containerID = id
			}
			runtime = rt
		}
	}
	return containerID, "", runtime
}

// containerElem recognises a cgroup path element naming a container.
func containerElem(elem, parent string) (id, runtime string, conmon, ok bool) {
	if isHex64(elem) {
		if parent == "docker" {
			return elem, RuntimeDocker, false, true
		}
		return elem, "", false, true
	}
	name := strings.TrimSuffix(elem, ".scope")
	for _, p := range []struct {
		prefix, runtime string
		conmon          bool
	}{
		{"cri-containerd-", RuntimeContainerd, false},
		{"crio-conmon-", RuntimeCRIO, true},
		{"crio-", RuntimeCRIO, false},
		{"docker-", RuntimeDocker, false},
		{"libpod-conmon-", RuntimePodman, true},
		{"libpod-", RuntimePodman, false},
	} {
		if rest, found := strings.CutPrefix(name, p.prefix); found {
			if !isHex64(rest) {
				return "", "", false, false
			}
			if p.conmon {
				return "", p.runtime, true, true
			}
			return rest, p.runtime, false, true
		}
	}
	return "", "", false, false
}

// podElem recognises a pod cgroup: "pod<uid>" (cgroupfs driver) or
// "…kubepods…-pod<uid_with_underscores>.slice" (systemd driver).
func podElem(elem string) (string, bool) {
	if rest, ok := strings.CutPrefix(elem, "pod"); ok {
		return podUID(rest)
	}
	name, ok := strings.CutSuffix(elem, ".slice")
	if !ok || !strings.Contains(name, "kubepods") {
		return "", false
	}
	i := strings.LastIndex(name, "-pod")
	if i < 0 {
		return "", false
	}
	return podUID(name[i+len("-pod"):])
}

// podUID normalises a pod UID ('_' to '-', lower case) and checks its shape:
// 8-4-4-4-12 hex digits, or 32 hex digits (static pods).
func podUID(s string) (string, bool) {
	u := strings.ToLower(strings.ReplaceAll(s, "_", "-"))
	switch len(u) {
	case 32:
		if isHex(u) {
			return u, true
		}
	case 36:
		for i := range len(u) {
			dash := i == 8 || i == 13 || i == 18 || i == 23
			if dash != (u[i] == '-') || !dash && !isHexDigit(u[i]) {
				return "", false
			}
		}
		return u, true
	}
	return "", false
}

func isHex64(s string) bool { return len(s) == 64 && isHex(s) }

func isHex(s string) bool {
	for i := range len(s) {
		if !isHexDigit(s[i]) {
			return false
		}
	}
	return true
}

func isHexDigit(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' }
