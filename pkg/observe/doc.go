// Package observe is memsight's per-process model. It joins what the other
// stages know about a process — the binary (goexe), /proc facts (process),
// probe counters and events (probe) and runtime state read from memory
// (goruntime) — into one Sample per interval, and lists the Go processes of a
// machine (Inventory).
//
// observe does not judge (that is detect) and does not print (that is the
// exporters and cmd).
package observe
