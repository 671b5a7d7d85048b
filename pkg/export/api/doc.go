// Package api serves the agent's state as a read-only JSON HTTP API:
//
//	GET /api/v1/processes        the Go processes the agent knows: watched or not, and why
//	GET /api/v1/processes/{pid}  the latest sample of a watched process (the schema of `memsight attach -o json`)
//	GET /api/v1/findings         the active findings of every watched process
//	GET /healthz                 200 while the agent runs
//	GET /readyz                  200 once the initial scan is inspected, 503 before
//
// Errors are JSON objects {"error": "..."} with a 4xx or 5xx status. api
// reads agent.Snapshot and writes nothing.
package api
