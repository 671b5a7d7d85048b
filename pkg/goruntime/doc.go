// Package goruntime decodes Go runtime state from the memory of a running Go
// process: the finalizer queue and the finalizer goroutine (status, wait
// reason, wait time, stack), the cleanup queue, and goroutines (g structs,
// stacks unwound with the pclntab SP-delta table the way the runtime does).
//
// It reads through a procmem.Reader and never writes, stops or ptraces the
// target. The target runs while it is read, so every multi-word read is
// checked for tearing and retried. Every value says whether it is known; an
// unknown value is never reported as zero. goruntime does not attach probes
// and does not locate globals or offsets itself: pkg/goexe does, from the
// executable file.
package goruntime
