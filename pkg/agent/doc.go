// Package agent watches every Go process of a machine: it finds them (an
// initial /proc scan, then a /proc rescan every Config.Rescan plus the
// probes' process-exit events, and a periodic reconcile), attaches the
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
// New processes are found by rescanning /proc (comparing PID sets, about
// 1 µs per process) rather than by an exec tracepoint: a process that execs
// within ExecWindow of appearing is re-inspected at every rescan, one that
// execs later at the next reconcile. An exec tracepoint (a BPF program) will
// replace the rescan.
//
// What agent does not do: serve anything (pkg/export/...), decide what the
// numbers mean (detect), or read /proc and memory itself (process, observe).
package agent
