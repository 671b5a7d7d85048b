// Package web serves the agent's built-in web page and the history behind
// its charts:
//
//	GET /                  the page: the node's Go processes, their RSS, Go heap and
//	                       finalizer-queue charts over the last hour, the active findings
//	                       with the stuck finalizer's stack
//	GET /ui/{file}         the page's script and style sheet, embedded in the binary
//	GET /api/v1/history    per process, the recorded points of the last hour
//
// The page reads /api/v1/processes and /api/v1/findings (package api) and
// /api/v1/history; it loads nothing from elsewhere (no CDN, no fonts) and is
// served with a Content-Security-Policy of default-src 'self'.
//
// A Recorder reads the agent's Snapshot every Interval (10 s) and keeps, per
// watched process, a bounded ring of the last Window (1 h) of points; it
// forgets a process when it leaves the snapshot. Like package api, web only
// reads a model.Snapshot: nothing it serves can attach probes or read a
// process's memory (it does not link the packages that can).
package web
