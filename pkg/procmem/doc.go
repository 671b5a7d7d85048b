// Package procmem is memsight's one way into the memory of another process:
// ReadMemory with process_vm_readv(2), falling back to pread(2) on
// /proc/PID/mem when the system call is unavailable.
//
// procmem only reads. It never writes target memory, never stops or ptraces
// the target and does not decode what it reads: pkg/goruntime decodes Go
// runtime structures on top of the Reader interface.
package procmem
