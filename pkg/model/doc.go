// Package model holds the data memsight reports: what it knows about one Go
// process at one instant (Sample, with its Findings and the finding kinds),
// a goroutine census (Census), the goroutine-leak verdict (LeakReport), the
// Go processes of a machine (GoProcess, as `memsight ps` lists them), and
// what the node agent knows of them (Snapshot, Process, Stats), the profiles
// and evidence it reads on request (Profile, Evidence) and the errors of
// those requests. Its JSON encodings are the schemas of `memsight attach -o
// json`, `memsight goroutines -o json`, `memsight ps -o json` and the
// agent's API; field names, types and nullability change only with the
// schema.
//
// model is a leaf: it imports nothing of memsight, so the stage that fills a
// value and the outputs that read it share one definition. pkg/goruntime
// fills a Census, pkg/goruntime/leak a LeakReport, pkg/observe a Sample,
// pkg/detect its Findings, pkg/agent a Snapshot; the outputs (pkg/export/...,
// pkg/kube) read them without linking anything that reads memory or
// attaches probes (pkg/imports_test.go checks it, over the transitive
// dependencies).
//
// model does not read, compute or judge anything: its types are plain data
// with JSON tags, and its functions derive names from them (ServiceName,
// EvidenceID).
package model
