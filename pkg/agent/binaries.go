package agent

import (
	"errors"
	"fmt"
	"time"

	"github.com/memsight/memsight/pkg/goexe"
	"github.com/memsight/memsight/pkg/observe"
	"github.com/memsight/memsight/pkg/probe"
	"github.com/memsight/memsight/pkg/process"
)

// shared is the probe attachment of one executable, shared by every
// watched process running it.
type shared struct {
	key  goexe.Key
	att  *probe.Attachment // nil while being attached
	refs int               // guarded by Agent.mu
	// busy is non-nil while the probes are being attached or detached, and
	// closed when that is done: a process of the same executable waits, so
	// that two attachments never count the same process twice. Guarded by
	// Agent.mu.
	busy chan struct{}
}

// acquire returns the attachment of bin, attaching the probes (for every
// process of the file, reached through pid's /proc/PID/exe) on first use.
// Without opt-in probes (Config.Trace) there is nothing to share: nil.
func (a *Agent) acquire(pid int, bin *goexe.Binary) (*shared, error) {
	if !a.cfg.Trace.Any() {
		return nil, nil
	}
	for {
		a.mu.Lock()
		sh := a.bins[bin.Key]
		switch {
		case sh == nil:
			sh = &shared{key: bin.Key, refs: 1, busy: make(chan struct{})}
			a.bins[bin.Key] = sh
			a.mu.Unlock()
			if err := a.attachShared(sh, pid, bin); err != nil {
				return nil, err
			}
			return sh, nil
		case sh.busy != nil:
			busy := sh.busy
			a.mu.Unlock()
			<-busy
		default:
			sh.refs++
			a.mu.Unlock()
			return sh, nil
		}
	}
}

// attachShared attaches the probes of a new shared attachment. Whatever
// happens (a panic included), the waiters are released.
func (a *Agent) attachShared(sh *shared, pid int, bin *goexe.Binary) error {
	var att *probe.Attachment
	defer func() {
		a.mu.Lock()
		busy := sh.busy
		sh.busy, sh.att = nil, att
		if att == nil {
			delete(a.bins, sh.key)
		}
		a.mu.Unlock()
		close(busy)
	}()
	start := time.Now()
	var err error
	// PID 0: every process of the executable, recorded once watched.
	att, err = a.cfg.Probes.Attach(observe.ProbeTarget(a.cfg.ProcRoot, pid, 0, bin, a.cfg.Trace))
	if err != nil {
		return fmt.Errorf("attaching probes to the executable of pid %d (%s): %w", pid, bin.Path, err)
	}
	a.log.Info("probes attached", "exe", bin.Path, "go_version", bin.GoVersion, "build_id", bin.BuildID,
		"points", len(att.Points()), "skipped", len(att.Skipped()), "duration", time.Since(start).Round(time.Microsecond))
	for name, why := range att.Skipped() {
		a.log.Debug("probe not attached", "exe", bin.Path, "point", name, "reason", why)
	}
	return nil
}

// release drops one reference to sh and detaches its probes after the last.
// Detaching takes a while (the kernel waits for running probes, tens of ms
// per link); meanwhile only processes of the same executable wait.
func (a *Agent) release(sh *shared) {
	if sh == nil {
		return
	}
	a.mu.Lock()
	sh.refs--
	if sh.refs > 0 {
		a.mu.Unlock()
		return
	}
	sh.busy = make(chan struct{})
	a.mu.Unlock()
	defer func() {
		a.mu.Lock()
		if a.bins[sh.key] == sh {
			delete(a.bins, sh.key)
		}
		busy := sh.busy
		sh.busy = nil
		a.mu.Unlock()
		close(busy)
	}()
	start := time.Now()
	if err := sh.att.Close(); err != nil {
		a.log.Warn("detaching probes", "build_id", sh.key.BuildID, "error", err)
		return
	}
	a.log.Info("probes detached: the executable's last watched process is gone", "build_id", sh.key.BuildID,
		"duration", time.Since(start).Round(time.Microsecond))
}

// refs returns sh's reference count.
func (a *Agent) refs(sh *shared) int {
	if sh == nil {
		return 0
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	return sh.refs
}

// detach closes a session and releases its attachment.
func (a *Agent) detach(sess *observe.SharedSession, sh *shared) {
	a.closeSession(sess)
	a.release(sh)
}

// closeSession unwatches the process and closes its memory reader.
func (a *Agent) closeSession(sess *observe.SharedSession) {
	if err := sess.Close(); err != nil && !errors.Is(err, process.ErrNoProcess) {
		a.log.Debug("closing session", "pid", sess.Process().PID, "error", err)
	}
}
