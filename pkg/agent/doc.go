// Package agent watches every Go process of a machine: it finds them (an
// initial /proc scan, then the probes' exec and exit events, a /proc rescan
// every Config.Rescan, and a periodic reconcile), attaches the
// probes once per executable (keyed by device, inode and build ID, shared by
// all of its processes, each watched by PID in the kernel filter), samples
// each process (observe) and runs its detectors (detect), and keeps the
// latest sample of each process for the exporters to read (Snapshot).
//
// Lifetimes: New validates the Config; Run does everything until its
// context is done, then detaches every probe it attached and returns. A
// process's sampling runs in its own goroutine, so a slow or broken process
// does not delay the others; a panic while sampling one process detaches
// that process only.
//
// New programs are found by the probes' exec events (a raw tracepoint on
// sched_process_exec reports every exec of the machine): a PID is queued for
// inspection on its exec, or when it is MinProcessAge old. A process that
// execs again (same PID, a new program, even of the same file) is detached
// and inspected afresh: nothing learnt from the old program (offsets, load
// bias) is used once its exec event is handled (the event wakes the agent:
// milliseconds after the exec). An exec and a rescan that both see a
// process inspect it once (an inspection that began after the exec covers
// it). The /proc rescan (comparing PID sets, about 1 µs per process) is then
// a safety net, every 2 s by default; without exec events (probe.Config
// NoExecEvents, or the tracepoint could not be attached) it is the only way,
// every FallbackRescan: a process that execs within ExecWindow of appearing
// is re-inspected at every rescan, one that execs later at the next
// reconcile.
//
// Profiles (profile.go) are read on request (Profile: the API, the
// Pyroscope push) through pkg/profiles, each with its own memory reader and
// read budget, at most ProfileConfig.Concurrency at once, never on a
// process's sampling worker; a ring of heap profile counts per process is
// taken every ProfileConfig.HeapRing; when a finding fires or resolves, its
// evidence (sample, goroutine census and profile, heap profile, and for
// growth the heap difference since the window's start) is captured by one
// goroutine off the workers and kept in memory, bounded (evidence.go).
//
// What agent does not do: serve anything (pkg/export/...), decide what the
// numbers mean (detect), or read /proc and memory itself (process, observe,
// profiles).
package agent
