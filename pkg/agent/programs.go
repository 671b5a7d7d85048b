package agent

import "time"

// ProgramStats is how often one of memsight's BPF programs ran, over every
// process, and for how long in total, since the agent loaded them.
type ProgramStats struct {
	Runs    uint64
	RunTime time.Duration
}

// programStats reads the kernel's statistics of every BPF program, by
// program name; nil when the statistics are off (they need CAP_SYS_ADMIN)
// or cannot be read.
func (a *Agent) programStats() map[string]ProgramStats {
	if !a.cfg.Probes.StatsEnabled() {
		return nil
	}
	ps, err := a.cfg.Probes.ProgramStats()
	if err != nil {
		a.log.Debug("reading BPF program statistics", "error", err)
		return nil
	}
	out := make(map[string]ProgramStats, len(ps))
	for name, s := range ps {
		out[name] = ProgramStats{Runs: s.Runs, RunTime: s.RunTime}
	}
	return out
}
