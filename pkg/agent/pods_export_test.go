package agent

import "testing"

// RunTestAgent is runAgent for the external tests (package agent_test),
// which may import the exporters.
func RunTestAgent(t *testing.T, include string, tweak ...func(*Config)) *Agent {
	t.Helper()
	return runAgent(t, include, tweak...)
}
