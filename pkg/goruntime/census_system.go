package goruntime

import (
	"fmt"
	"strings"

	"github.com/memsight/memsight/pkg/model"
	"github.com/memsight/memsight/pkg/procmem"
)

// startKind classifies a goroutine's start function the way the runtime's
// isSystemGoroutine does (runtime/traceback.go, the same in Go 1.20–1.27
// but for the functions that exist in each version).
type startKind uint8

const (
	startUser      startKind = iota
	startSystem              // a runtime.* function
	startFinalizer           // runtime.runFinalizers (runfinq before 1.25)
	startCleanup             // runtime.runCleanups (1.25+)
)

func classifyStart(name string) startKind {
	switch name {
	case "", "runtime.main", "runtime.corostart", "runtime.handleAsyncEvent":
		// No function (findfunc fails): not a system goroutine either.
		return startUser
	case "runtime.runFinalizers", "runtime.runfinq":
		return startFinalizer
	case "runtime.runCleanups":
		return startCleanup
	}
	if strings.HasPrefix(name, "runtime.") {
		return startSystem
	}
	return startUser
}

// classifier decides, per g, isSystemGoroutine(gp, false).
type classifier struct {
	r     *Runtime
	c     *model.Census
	kinds map[uint64]startKind // by start pc
	// fing is the finalizer goroutine's fingRunningFinalizer bit, read once
	// when the finalizer goroutine is met.
	fingRead, fingRunning bool
}

func (r *Runtime) newClassifier(c *model.Census) *classifier {
	return &classifier{r: r, c: c, kinds: map[uint64]startKind{}}
}

// system reports whether the runtime considers the goroutine a system
// goroutine now (omitted from tracebacks and the goroutine profile).
// varies marks the finalizer and cleanup goroutines while they run user
// code: user goroutines now, yet counted as system by NumGoroutine.
func (cl *classifier) system(h gHead) (sys, varies bool) {
	k, ok := cl.kinds[h.startPC]
	if !ok {
		name := ""
		if m, found := cl.r.b.FuncMetaAt(cl.r.link(h.startPC)); found && h.startPC != 0 {
			name = m.Name
		}
		k = classifyStart(name)
		cl.kinds[h.startPC] = k
	}
	switch k {
	case startSystem:
		return true, false
	case startFinalizer:
		running := cl.finalizerRunning()
		return !running, running
	case startCleanup:
		running := cl.cleanupRunning(h)
		return !running, running
	}
	return false, false
}

// finalizerRunning reads fingStatus&fingRunningFinalizer. Unknown counts as
// not running (a system goroutine), recorded in model.Census.Unknown.
func (cl *classifier) finalizerRunning() bool {
	if cl.fingRead {
		return cl.fingRunning
	}
	cl.fingRead = true
	addr, err := cl.r.addr(cl.r.b.Globals.FingStatus, "fingStatus")
	var v uint32
	if err == nil {
		v, err = procmem.ReadU32(cl.r.mem, addr)
	}
	if err != nil {
		cl.c.Unknown["user.finalizer_goroutine"] = fmt.Sprintf("whether the finalizer goroutine runs a finalizer (runtime.fingStatus): %v; counted as a system goroutine", err)
		return false
	}
	cl.fingRunning = v&fingRunningFinalizer != 0
	return cl.fingRunning
}

// cleanupRunning reads g.runningCleanups of a cleanup goroutine. Unknown
// counts as not running, recorded in model.Census.Unknown.
func (cl *classifier) cleanupRunning(h gHead) bool {
	off, err := cl.r.off("runtime.g.runningCleanups")
	var v uint8
	if err == nil {
		v, err = procmem.ReadU8(cl.r.mem, h.addr+off)
	}
	if err != nil {
		cl.c.Unknown["user.cleanup_goroutines"] = fmt.Sprintf("whether cleanup goroutines run cleanups (runtime.g.runningCleanups): %v; counted as system goroutines", err)
		return false
	}
	return v != 0
}
