// Package heapprof reads the runtime's sampled heap profile from the memory
// of a running Go process and writes it as a pprof profile.
//
// The Go runtime records every MemProfileRate-th allocated byte (on average)
// in a hash table of buckets, one per (allocation stack, object size), linked
// from runtime.mbuckets. That is the data runtime/pprof's heap profile is
// made of. Read walks that list from outside, without stopping the target,
// and computes what runtime.MemProfile would report at that moment: the
// published cycle (mProfCycle), including the not yet flushed counts of that
// cycle. Snapshot.Profile turns it into the same profile
// pprof.WriteHeapProfile writes (alloc_objects, alloc_space, inuse_objects,
// inuse_space, scaled like runtime/pprof's scaleHeapSample), symbolized from
// the executable's pclntab with inlined frames expanded.
//
// heapprof only reads: it never writes target memory, never flushes the
// runtime's pending counts and never stops the process. It does not find
// processes, compute load biases or open executables; callers hand it a
// goexe.Binary, a procmem.Reader and the load bias. A process whose
// MemProfileRate is 0 (the linker disables memory profiling when nothing can
// read the profile) has no heap profile: Read fails with ErrNotRecorded.
package heapprof
