// Package profiles builds pprof profiles of one running Go process from its
// memory, on request: the heap profile the runtime records (pkg/heapprof)
// and a goroutine profile (one sample per distinct stack, counted like
// runtime/pprof's "goroutine" profile, the stacks unwound by
// pkg/goruntime's census). Every read goes through its own memory reader
// bounded by a byte budget (procmem.Budget), so a profile never shares the
// sampling session's reader or goruntime.Runtime and never reads more than
// it was allowed to.
//
// It also keeps heap snapshots small: Counts is a snapshot reduced to each
// bucket's address and counts (the runtime never frees or moves a bucket,
// so its address names its stack and size for the process's lifetime), from
// which a later HeapProfile rebuilds the earlier profile and the difference
// (what `go tool pprof -base early late` shows).
//
// profiles does not find processes, schedule reads, cache results or serve
// them: pkg/agent does. It never writes target memory.
package profiles
