package agent

import "github.com/memsight/memsight/pkg/model"

// programStats reads the kernel's statistics of every BPF program, by
// program name; nil when the statistics are off (they need CAP_SYS_ADMIN)
// or cannot be read.
func (a *Agent) programStats() map[string]model.ProgramStats {
	if !a.cfg.Probes.StatsEnabled() {
		return nil
	}
	ps, err := a.cfg.Probes.ProgramStats()
	if err != nil {
		a.log.Debug("reading BPF program statistics", "error", err)
		return nil
	}
	return ps
}
