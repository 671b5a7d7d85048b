// Package probe is memsight's BPF side: it loads the BPF object compiled from
// bpf/*.bpf.c, attaches uprobes at the probe points goexe located in a Go
// executable, filters processes in the kernel, and reads back per-process
// counters and ring-buffer events about finalizers, cleanups, GC cycles and
// stop-the-world pauses.
//
// Lifetimes: New loads the object once per memsight process and attaches the
// sched_process_exit and sched_process_exec raw tracepoints (the latter
// reports every exec of the machine as a ProcessExec event; if it cannot be
// attached, New logs a warning and ExecEvents is false). Attach adds one uprobe per located point
// of one executable (by inode, so all its processes, or one PID); one
// Attachment can serve many processes, which are recorded only while watched
// (Watch/Unwatch; Attach with a PID watches it). A watched process is forgotten
// in the kernel when it exits, after its last counters are sent as a
// ProcessExit event. Close an Attachment to detach its probes, and Close the
// Probes (which closes the remaining attachments first) when done.
//
// What probe does not do: locate probe points (goexe), read process memory
// (procmem), subtract a PIE load bias from event PCs, or decide what the
// numbers mean (observe, detect). Event PCs are as mapped in the process.
//
// Probes are never uretprobes (they crash Go programs): a call is timed by a
// probe on the runner's CALL instruction and one on the instruction after it.
// Entry probes use FuncProbe.Best (the prologue's emulated conditional jump);
// the kernel side drops the second hit when the prologue's stack check sends
// the call through morestack and back to the entry (see Target.Funcs).
//
// Uprobes are attached as uprobe_multi BPF links where the kernel has them
// (Linux 6.6+; they need CAP_BPF and CAP_PERFMON), else as perf-event uprobes,
// which need CAP_SYS_ADMIN since Linux 6.16 (and the stable kernels that got
// that change). Neither needs tracefs. The process-exit and process-exec
// hooks are raw tracepoints. Counters are per process and kept in the
// kernel; events (one per finalizer or cleanup start and end, per
// stop-the-world pause, and per exec of any process) go through a 1 MiB ring
// buffer that Run polls (an exec wakes it at once); nothing is per
// allocation.
//
// Allocation probes are separate and opt-in (AttachAlloc): entry probes on
// the allocator's slow paths and, on request, on the mallocgc family, for one
// process. Each hit walks the user stack by frame pointers in BPF and adds
// its byte count to that stack's entry in a hash map (AllocAttachment.Sites);
// hits per probe (AllocAttachment.Hits), TrapCost and the program's run time
// let a caller estimate their overhead and Detach the costly ones.
//
// # Regenerating the BPF object
//
// The generated memsight_{x86,arm64}_bpfel.{go,o} files are committed, so
// building memsight needs no C toolchain (and so are the unit tests' object,
// bpftest_{x86,arm64}_bpfel_test.{go,o}, see bpf/README.md). After changing
// bpf/, run
//
//	go generate ./pkg/probe
//
// (or make generate, which checks the compiler) with clang-14 and
// llvm-strip-14, and <linux/bpf.h> from linux-libc-dev; the libbpf headers
// are vendored in bpf/include/bpf. The output is deterministic for a given
// clang version and carries only relative paths; CI regenerates it and fails
// on any difference (make check-generated).
package probe
