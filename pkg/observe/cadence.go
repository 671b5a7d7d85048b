package observe

import (
	"time"

	"github.com/memsight/memsight/pkg/model"
	"github.com/memsight/memsight/pkg/process"
)

// slowState keeps the results of a Session's costly reads (see
// AttachConfig.SlowEvery) between their runs.
type slowState struct {
	memAt    time.Time
	mem      process.Memory // the last full read of /proc/PID/status and stat
	censusAt time.Time
	allglen  uint64
	census   *model.Goroutines // the last census; nil before the first
	unknown  map[string]string
	res      *process.ResidentFile // statm, kept open
}

// close releases what the costly-read state keeps open.
func (st *slowState) close() error {
	if st.res == nil {
		return nil
	}
	err := st.res.Close()
	st.res = nil
	return err
}

// due reports whether a costly read last run at `at` is due again.
func (s *Session) due(at, now time.Time) bool {
	return s.cfg.SlowEvery <= 0 || at.IsZero() || now.Sub(at) >= s.cfg.SlowEvery
}

// readMemory returns the process's memory: /proc/PID/status and stat when
// due, else the last ones updated from statm and the fd count.
func (s *Session) readMemory(now time.Time) (process.Memory, error) {
	pid := s.cfg.PID
	if s.due(s.slow.memAt, now) {
		m, err := s.cfg.Procs.Memory(pid)
		if err != nil {
			return m, err
		}
		s.slow.mem, s.slow.memAt = m, now
		return m, nil
	}
	if s.slow.res == nil {
		rf, err := s.cfg.Procs.OpenResident(pid)
		if err != nil {
			return process.Memory{}, err
		}
		s.slow.res = rf
	}
	r, err := s.slow.res.Read()
	if err != nil {
		return process.Memory{}, err
	}
	m := s.slow.mem
	m.RSS, m.RssAnon, m.FDs = r.RSS, r.Anon(), r.FDs
	m.RssFile = r.Shared - min(r.Shared, m.RssShmem)
	m.VmHWM = max(m.VmHWM, r.RSS)
	return m, nil
}

// goroutinesDue reports whether the census must run now: when due, or when
// runtime.allglen changed since the last one (it grows only when the live
// goroutines outnumber the g's the runtime had to reuse).
func (s *Session) goroutinesDue(now time.Time) bool {
	if s.slow.census == nil || s.due(s.slow.censusAt, now) {
		return true
	}
	n, err := s.rt.AllGLen()
	return err != nil || n != s.slow.allglen
}
