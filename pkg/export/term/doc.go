// Package term renders the node overview of `memsight top` as plain text:
// one frame per refresh, a header with the node's summary, a table of the Go
// processes (PID, COMM, POD, GO, RSS, RSS/h, HEAP, GOR, FINQ, FIN-RUN,
// FINDINGS) and below it the active findings with the stuck finalizer's top
// stack frames.
//
// The input is a View (model.Process values with their latest samples), which
// both of top's sources produce: an in-process agent and a remote agent's
// JSON API. Rendering is a pure function of the View and Options: it fits the
// frame to a width and height, and sanitizes every string that comes from a
// target (comm, function names, pod names): binaries are hostile, and a comm
// may hold escape sequences.
//
// term does not talk to a terminal (cursor movement, raw mode, window size
// are the command's), and does not fetch anything.
package term
