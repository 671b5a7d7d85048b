package probe

import (
	"github.com/cilium/ebpf/link"
)

// attachExec attaches the sched_process_exec raw tracepoint, which reports
// every exec of the machine as a ProcessExec event. It returns nil, after
// logging why, when the kernel refuses: callers then find new programs by
// rescanning /proc, so this is no reason to fail New.
func (p *Probes) attachExec() link.Link {
	l, err := link.AttachRawTracepoint(link.RawTracepointOptions{Name: "sched_process_exec", Program: p.objs.ProcessExec})
	if err != nil {
		p.log.Warn("attaching raw tracepoint sched_process_exec: no exec events, new processes are found by rescanning /proc only",
			"error", permission(err))
		return nil
	}
	return l
}

// ExecEvents reports whether Run delivers a ProcessExec event for every exec
// of the machine. When false (Config.NoExecEvents, or the tracepoint could
// not be attached), a new program is only noticed by listing /proc.
func (p *Probes) ExecEvents() bool { return p.exec != nil }
