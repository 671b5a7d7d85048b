package retry

import (
	"context"
	"time"
)

// Policy bounds the retries of one delivery.
type Policy struct {
	MaxRetries int           // retries after the first attempt
	Backoff    time.Duration // the first wait, doubled after each retry
	MaxBackoff time.Duration // the longest wait
}

// Do calls try until it succeeds, fails with retry false, has been retried
// MaxRetries times, or ctx is done. onRetry (may be nil) is called before
// each wait with the failure and the wait. It returns the attempts made and
// the last failure, nil when try succeeded; a caller tells a failure from
// an interruption by ctx.Err().
func Do(ctx context.Context, p Policy, try func() (retry bool, err error), onRetry func(err error, wait time.Duration)) (attempts int, err error) {
	wait := p.Backoff
	for attempt := 0; ; attempt++ {
		retry, err := try()
		if err == nil || !retry || attempt >= p.MaxRetries || ctx.Err() != nil {
			return attempt + 1, err
		}
		if onRetry != nil {
			onRetry(err, wait)
		}
		select {
		case <-ctx.Done():
			return attempt + 1, err
		case <-time.After(wait):
		}
		wait = min(2*wait, p.MaxBackoff)
	}
}
