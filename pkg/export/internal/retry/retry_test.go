package retry

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestDo(t *testing.T) {
	p := Policy{MaxRetries: 3, Backoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond}
	fail := errors.New("fail")
	for _, c := range []struct {
		name     string
		results  []bool // retry of each failing attempt; past the end: success
		attempts int
		waits    []time.Duration
		err      bool
	}{
		{"first try", nil, 1, nil, false},
		{"after two retries", []bool{true, true}, 3, []time.Duration{time.Millisecond, 2 * time.Millisecond}, false},
		{"not retryable", []bool{true, false}, 2, []time.Duration{time.Millisecond}, true},
		{"retries exhausted", []bool{true, true, true, true, true}, 4, []time.Duration{time.Millisecond, 2 * time.Millisecond, 2 * time.Millisecond}, true},
	} {
		n := 0
		var waits []time.Duration
		attempts, err := Do(context.Background(), p, func() (bool, error) {
			n++
			if n > len(c.results) {
				return false, nil
			}
			return c.results[n-1], fail
		}, func(_ error, w time.Duration) { waits = append(waits, w) })
		if attempts != c.attempts || (err != nil) != c.err || len(waits) != len(c.waits) {
			t.Errorf("%s: %d attempts, %v, waits %v; want %d, error %v, waits %v", c.name, attempts, err, waits, c.attempts, c.err, c.waits)
			continue
		}
		for i := range waits {
			if waits[i] != c.waits[i] {
				t.Errorf("%s: waits %v, want %v", c.name, waits, c.waits)
			}
		}
	}
	// A cancelled context ends the waits.
	ctx, cancel := context.WithCancel(context.Background())
	attempts, err := Do(ctx, Policy{MaxRetries: 5, Backoff: time.Hour, MaxBackoff: time.Hour}, func() (bool, error) { return true, fail },
		func(error, time.Duration) { cancel() })
	if attempts != 1 || !errors.Is(err, fail) || ctx.Err() == nil {
		t.Errorf("cancelled: %d attempts, %v", attempts, err)
	}
}
