// Package preflight checks, before memsight loads any BPF, that the machine
// and the process can run it: kernel release, kernel BTF, uprobe support
// (the perf uprobe PMU and uprobe_multi links), perf_event_paranoid, the
// process's capabilities, and whether it shares the host's PID namespace.
//
// Run returns one Result per check, each ok, warn (memsight runs, with a
// limitation the message names) or fail (memsight cannot work here), with a
// one-line message that says what to do. It reads only procfs and sysfs
// (roots configurable, so tests use fixture trees) and runs the cilium/ebpf
// feature probes the loader itself relies on.
//
// The package does not load memsight's BPF objects, log, or decide whether
// to exit: cmd/memsight does, from the results.
package preflight
