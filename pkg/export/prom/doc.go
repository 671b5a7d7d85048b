// Package prom exports what the agent knows as Prometheus metrics, on its own
// registry (never the global one). Per-process series are const metrics
// built at scrape time from the agent's latest samples, so the series of a
// process that exited disappear at the next scrape; a value memsight does
// not know (say the heap of a binary whose layout is unknown) has no series
// rather than a zero. docs/metrics.md lists the metrics and their
// cardinality.
//
// prom does not sample anything: it reads a model.Snapshot (from the
// agent), and serves it.
package prom
