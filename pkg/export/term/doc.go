// Package term renders memsight's views as plain text. First the node
// overview of `memsight top`: one frame per refresh, a header with the
// node's summary, a table of the Go processes (PID, COMM, POD, GO, RSS,
// RSS/h, HEAP, GOR, FINQ, FIN-RUN, FINDINGS) and below it the active findings
// with the stuck finalizer's top stack frames.
//
// The input is a View (model.Process values with their latest samples), which
// both of top's sources produce: an in-process agent and a remote agent's
// JSON API. Rendering is a pure function of the View and Options: it fits the
// frame to a width and height, and sanitizes every string that comes from a
// target (comm, function names, pod names): binaries are hostile, and a comm
// may hold escape sequences.
//
// term also renders the command line's single-process views, each a pure
// function of pkg/model values: the frame of `memsight attach` for one sample
// (RenderSample, RenderDetached), the census of `memsight goroutines`
// (RenderCensus), its leak verdict (RenderLeaks) and the list of `memsight
// ps` (RenderProcesses). Unlike top's frame they fit no width and print the
// strings as read. testdata/*.golden holds their frames (go test -update).
//
// term does not talk to a terminal (cursor movement, raw mode, window size
// are the command's), and does not fetch anything.
package term
