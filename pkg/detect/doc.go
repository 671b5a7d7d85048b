// Package detect turns a process's sample series into findings: a stuck
// finalizer or cleanup, a growing finalizer backlog, growth of RSS, heap,
// goroutines or fds (least-squares slopes over a window, or earlier once
// the slope's confidence interval clears the threshold), GC pause
// regressions. A Detector keeps the history it needs, fires a finding when
// its condition holds and clears it when the condition clears, keeping
// Since = the time it first fired.
//
// Samples and findings are pkg/model's types (the finding kinds too:
// model.KindFinalizerStall, ...); detect imports nothing else of memsight.
//
// detect is pure: no I/O, no clocks other than the samples' own times.
package detect
