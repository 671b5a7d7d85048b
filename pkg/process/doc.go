// Package process reads facts about running processes from /proc: it lists
// processes, reports their memory (RSS and its anonymous, file and shmem
// parts, peak RSS), threads and open file descriptors, finds the container
// and Kubernetes pod a process runs in from its cgroup, finds the mappings of
// its executable (to compute the load bias of a PIE binary) and checks the
// capabilities memsight itself holds.
//
// Everything is read through github.com/prometheus/procfs where it has the
// data, under a configurable procfs root (Config.ProcRoot, flag
// --path.procfs) so that tests can point it at fixtures and a container can
// read the host's /proc.
//
// Processes come and go while they are read. A process that exits while it is
// being read is reported as ErrNoProcess by Get and skipped by List; it is
// never an error for a listing.
//
// Errors branch on two sentinels, the pipeline's only ones for them:
// ErrNoProcess (the process is gone) and ErrPermission (the kernel refused
// access). Reader.Denied says what refused an access, going through the
// kernel's ptrace access checks with what procfs shows: user namespaces,
// uids, dumpability, capabilities, Yama.
//
// Package process does not parse executables: the ELF program headers that
// LoadBias needs come from the caller (pkg/goexe), and nothing here opens an
// executable's contents. It does not read process memory either (see
// pkg/procmem).
package process
