// Package retry is how the HTTP exporters (webhook, pyroscope) deliver one
// request: try it, and retry what may be retried with exponential backoff.
package retry
