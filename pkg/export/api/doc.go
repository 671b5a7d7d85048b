// Package api serves the agent's state as a read-only JSON HTTP API:
//
//	GET /api/v1/processes        the Go processes the agent knows: watched or not, and why
//	GET /api/v1/processes/{pid}  the latest sample of a watched process (the schema of `memsight attach -o json`)
//	GET /api/v1/findings         the active findings of every watched process, with their evidence_url
//	GET /api/v1/processes/{pid}/pprof/{heap,allocs,goroutine}
//	                             a profile read now from the process's memory (gzipped pprof)
//	GET /api/v1/targets          the watched processes in Prometheus HTTP SD format, for profile scrapers
//	GET /api/v1/evidence         the evidence bundles kept, newest first
//	GET /api/v1/evidence/{id}    one bundle (JSON) with links to its profiles,
//	GET /api/v1/evidence/{id}/{fired,resolved}/{name}   each a gzipped pprof profile
//	GET /healthz                 200 while the agent runs
//	GET /readyz                  200 once the initial scan is inspected, 503 before
//
// Errors are JSON objects {"error": "..."} with a 4xx or 5xx status. api
// reads a model.Snapshot, asks the agent for profiles and evidence
// (Profiles), and writes nothing; it reads no memory itself, and links
// nothing that can (it knows the agent only through pkg/model).
package api
