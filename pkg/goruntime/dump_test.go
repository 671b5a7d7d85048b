package goruntime

import (
	"strconv"
	"strings"
)

// dumpG is one goroutine of a runtime traceback dump.
type dumpG struct {
	goid      uint64
	status    string // "chan receive", "running", "sync.Mutex.Lock", ...
	frames    []dumpFrame
	createdBy *dumpFrame
	creator   uint64 // "in goroutine N"
}

type dumpFrame struct {
	fn      string
	file    string
	line    int
	off     uint64 // +0x.. (physical frames only)
	hasOff  bool
	sp, pc  uint64
	inlined bool // printed with "(...)"
}

// parseDump parses the goroutine blocks of a Go traceback (GOTRACEBACK=all
// or a SIGQUIT crash dump, which adds fp= sp= pc=).
func parseDump(s string) map[uint64]*dumpG {
	out := map[uint64]*dumpG{}
	var cur *dumpG
	lines := strings.Split(s, "\n")
	for i := 0; i < len(lines); i++ {
		l := lines[i]
		if strings.HasPrefix(l, "goroutine ") && strings.HasSuffix(l, ":") {
			f := strings.Fields(l)
			id, err := strconv.ParseUint(f[1], 10, 64)
			if err != nil {
				cur = nil
				continue
			}
			cur = &dumpG{goid: id}
			if a, b := strings.Index(l, "["), strings.LastIndex(l, "]"); a >= 0 && b > a {
				cur.status = l[a+1 : b]
			}
			out[id] = cur
			continue
		}
		if cur == nil || l == "" || strings.HasPrefix(l, "\t") || i+1 >= len(lines) || !strings.HasPrefix(lines[i+1], "\t") {
			if l == "" {
				cur = nil
			}
			continue
		}
		fr := parseLoc(lines[i+1])
		i++
		if name, ok := strings.CutPrefix(l, "created by "); ok {
			name, in, _ := strings.Cut(name, " in goroutine ")
			fr.fn = name
			cur.creator, _ = strconv.ParseUint(in, 10, 64)
			cur.createdBy = &fr
			continue
		}
		p := strings.LastIndex(l, "(")
		if p < 0 {
			continue
		}
		fr.fn = l[:p]
		fr.inlined = l[p:] == "(...)"
		cur.frames = append(cur.frames, fr)
	}
	return out
}

// parseLoc parses "\tfile:line +0xoff fp=0x.. sp=0x.. pc=0x..".
func parseLoc(l string) dumpFrame {
	var fr dumpFrame
	f := strings.Fields(strings.TrimPrefix(l, "\t"))
	if len(f) == 0 {
		return fr
	}
	if c := strings.LastIndex(f[0], ":"); c > 0 {
		fr.file = f[0][:c]
		fr.line, _ = strconv.Atoi(f[0][c+1:])
	}
	for _, x := range f[1:] {
		switch {
		case strings.HasPrefix(x, "+0x"):
			fr.off, _ = strconv.ParseUint(x[3:], 16, 64)
			fr.hasOff = true
		case strings.HasPrefix(x, "sp=0x"):
			fr.sp, _ = strconv.ParseUint(x[5:], 16, 64)
		case strings.HasPrefix(x, "pc=0x"):
			fr.pc, _ = strconv.ParseUint(x[5:], 16, 64)
		}
	}
	return fr
}
