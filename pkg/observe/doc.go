// Package observe builds memsight's per-process model. It joins what the
// other stages know about a process — the binary (goexe), /proc facts
// (process), probe counters and events (probe) and runtime state read from
// memory (goruntime) — into one model.Sample per interval, and lists the Go
// processes of a machine (Inventory). The Sample's types are in pkg/model,
// so that the outputs can read them without linking this package.
//
// observe does not judge (that is detect) and does not print (that is the
// exporters and cmd).
package observe
