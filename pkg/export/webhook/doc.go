// Package webhook turns the agent's findings into events — a finding fires
// when it first appears on a process and resolves when it clears or the
// process goes — logs each one, and POSTs it to a webhook: memsight's JSON
// document or an Alertmanager /api/v2/alerts array, signed with HMAC-SHA256
// when a secret is set, retried with exponential backoff from a bounded
// queue that drops the oldest delivery when full.
//
// It does not detect anything (pkg/detect does) and does not re-send a
// firing finding: one fire and one resolve per finding per process — except
// in the Alertmanager format with Config.Resend, which re-sends firing
// alerts as Alertmanager expects.
package webhook
