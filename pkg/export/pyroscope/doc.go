// Package pyroscope pushes the watched processes' profiles to a Grafana
// Pyroscope server (or anything speaking its HTTP ingest API: Alloy's
// pyroscope.receive_http, Grafana Cloud Profiles): every Interval, the heap
// and goroutine profile of each watched process, as
// POST /ingest?name=<service_name>{pod=…,namespace=…,container=…,node=…,pid=…}&from=&until=&format=pprof
// with the gzipped pprof profile as the body. The heap profile's alloc_*
// values are sent as deltas since the previous push of the same process
// (in-use values as they are), as Pyroscope's Go SDK does, since the
// ingest API stores what it gets (__delta__="false").
//
// Pushes wait in a bounded queue (the oldest is dropped beyond) and are
// retried with exponential backoff on network errors, 429 and 5xx; basic
// auth, a bearer token and a tenant (X-Scope-OrgID) are set per request.
// It reads no memory itself: the agent reads each profile (a
// model.Profile, within its read budget and concurrency limit).
package pyroscope
