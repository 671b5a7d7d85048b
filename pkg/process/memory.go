package process

// Memory is the cheap, frequently sampled part of a Process. Sizes are in
// bytes and come from /proc/PID/status, whose counters the kernel keeps
// incrementally (no page-table walk, unlike smaps_rollup), so sampling every
// second is cheap even for large processes.
type Memory struct {
	RSS      uint64 // VmRSS = RssAnon + RssFile + RssShmem
	RssAnon  uint64
	RssFile  uint64
	RssShmem uint64
	VmHWM    uint64 // peak RSS
	Threads  int
	FDs      int // -1 if /proc/PID/fd is unreadable
}

// Memory samples the memory, thread and file descriptor counts of pid. It
// reads stat, status and the size of the fd directory (one stat call on
// Linux ≥ 6.2). It returns an error wrapping ErrNoProcess when pid does not
// exist or has exited.
func (r *Reader) Memory(pid int) (Memory, error) {
	pp, st, status, err := r.stats(pid)
	if err != nil {
		return Memory{}, err
	}
	fds, err := r.fdCount(pp)
	if err != nil {
		return Memory{}, err
	}
	return Memory{
		RSS:      status.VmRSS,
		RssAnon:  status.RssAnon,
		RssFile:  status.RssFile,
		RssShmem: status.RssShmem,
		VmHWM:    status.VmHWM,
		Threads:  st.NumThreads,
		FDs:      fds,
	}, nil
}
