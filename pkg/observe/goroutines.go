package observe

import (
	"time"

	"github.com/memsight/memsight/pkg/goexe"
	"github.com/memsight/memsight/pkg/goruntime"
	"github.com/memsight/memsight/pkg/model"
	"github.com/memsight/memsight/pkg/process"
	"github.com/memsight/memsight/pkg/target"
)

// Bounds of the goroutine census taken with every sample. A census reads
// every g of runtime.allgs (about 0.6 µs each: 0.6 s for a million), so
// a process with more is left out: Goroutines is nil and
// Unknown["goroutines"] says why.
const (
	maxSampleGoroutines = 1 << 20
	topCreationSites    = 10
)

// goroutines fills out.Goroutines from a census without stacks, or from
// the last one when no new census is due (see AttachConfig.SlowEvery).
func (s *Session) goroutines(out *model.Sample, now time.Time) {
	if !s.goroutinesDue(now) {
		g := *s.slow.census
		out.Goroutines = &g
		for k, why := range s.slow.unknown {
			out.Unknown[k] = why
		}
		return
	}
	n, lenErr := s.rt.AllGLen()
	c, err := s.rt.Census(goruntime.CensusOptions{
		MaxGoroutines: maxSampleGoroutines, TopSites: topCreationSites, OldestWaiters: -1,
	})
	if err != nil {
		out.Unknown["goroutines"] = err.Error()
		s.slow.census = nil
		return
	}
	out.Goroutines = goroutinesOf(c)
	out.Goroutines.Time = now
	s.slow.unknown = map[string]string{}
	for k, why := range c.Unknown {
		out.Unknown["goroutines."+k] = why
		s.slow.unknown["goroutines."+k] = why
	}
	g := *out.Goroutines
	s.slow.census, s.slow.censusAt, s.slow.allglen = &g, now, n
	if lenErr != nil {
		s.slow.census = nil // no cheap check without allglen: census every sample
	}
}

// goroutinesOf converts a census (of user goroutines) to the sample's form.
func goroutinesOf(c *model.Census) *model.Goroutines {
	g := &model.Goroutines{
		Total: c.Total, User: c.User, ByStatus: c.ByStatus, ByWaitReason: c.ByWaitReason,
		TopCreationSites: make([]model.SiteCount, 0, len(c.BySite)),
	}
	for _, s := range c.BySite {
		g.TopCreationSites = append(g.TopCreationSites, model.SiteCount{
			Function: s.Function, File: s.File, Line: s.Line, Count: s.Count, WaitReason: s.WaitReason,
		})
	}
	return g
}

// CensusConfig configures a one-off goroutine census of a process.
type CensusConfig struct {
	PID int
	// Procs reads /proc; its procfs root is the one every read uses.
	Procs   *process.Reader
	Cache   *goexe.Cache
	Options goruntime.CensusOptions
}

// CensusResult is a census with the process and binary it was taken of.
type CensusResult struct {
	Process process.Process
	Binary  *goexe.Binary
	Census  *model.Census
}

// GoroutineCensus counts the goroutines of a process from its memory only:
// no probes, no BPF, nothing written to the target. Errors name what to do.
func GoroutineCensus(cfg CensusConfig) (CensusResult, error) {
	t, err := target.Open(target.Config{PID: cfg.PID, Procs: cfg.Procs, Cache: cfg.Cache})
	if err != nil {
		return CensusResult{}, err
	}
	defer t.Close()
	res := CensusResult{Process: t.Process, Binary: t.Binary}
	if res.Census, err = t.Runtime.Census(cfg.Options); err != nil {
		return res, t.Err("goroutine census", err)
	}
	return res, nil
}
