// Package leak reproduces the Go runtime's goroutine-leak verdict (Go 1.27's
// goroutineleak profile, golang/go#74609) from outside the process: a
// read-only reachability mark over the target's memory.
//
// The roots are the data and bss segments (through the module's GC pointer
// masks), the finalizer and cleanup blocks, the span specials, and the
// stacks of the goroutines that are not blocked on a channel or a sync
// primitive (precisely, through the stack maps of each frame's pc; frames
// and stacks that cannot be scanned precisely are scanned conservatively).
// Heap objects are found through mheap_.arenas and scanned through their
// span's heap bits, malloc header or large-object type (Go 1.22+), or every
// word when the layout is unknown. A blocked goroutine whose channel or sync
// primitive gets marked becomes a root; the ones left at the fixed point are
// leaked. The sudog words through which a blocked goroutine reaches its own
// primitive are hidden, as the runtime does.
//
// Every approximation keeps more alive than the runtime would: it can hide
// a leak, never report one. The target keeps running while it is read, so
// a Scan marks twice and reports only goroutines both marks found leaked
// and that stayed in the same wait from before the first to after the
// second. Reads are batched (process_vm_readv) and rate-limited, and the
// mark keeps bitmaps and span tables, never copies of the heap.
//
// The verdict is a model.LeakReport (the schema of `memsight goroutines
// --leaks -o json`).
//
// leak does not stop, ptrace or write to the target, attach probes, or
// decide what a leak means for the process (pkg/detect does).
package leak
