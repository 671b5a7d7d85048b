// Package target is memsight's one way to open a running Go process for
// reading: every command and the agent go through Open (or Inspect, its
// first half), so each reaches /proc through the same procfs root
// (--path.procfs) and words the same failure the same way.
//
// Open reads the process from /proc (pkg/process), inspects its executable
// through /proc/PID/exe (pkg/goexe), reads the executable's mappings and
// from them the load bias of a PIE, opens the memory reader (pkg/procmem)
// and checks that it reads, and prepares the runtime decoder
// (pkg/goruntime). Its errors are classified: a process that is gone wraps
// process.ErrNoProcess, a refused access is a *process.AccessError (wrapping
// process.ErrPermission) that says what blocks it, a process that is not Go
// wraps goexe.ErrNotGo; each is one line naming the pid and command.
//
// Package target does not sample, attach probes or decide what to read:
// pkg/observe, pkg/profiles and the commands do, on an opened Target.
package target
