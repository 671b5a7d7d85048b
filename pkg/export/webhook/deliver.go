package webhook

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/memsight/memsight/pkg/export/internal/retry"
)

type metrics struct {
	deliveries *prometheus.CounterVec
	retries    prometheus.Counter
	dropped    prometheus.Counter
	queue      prometheus.Gauge
}

func newMetrics() metrics {
	name := func(n string) string { return prometheus.BuildFQName("memsight", "webhook", n) }
	return metrics{
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: name("deliveries_total"),
			Help: "Webhook deliveries by result: sent (2xx), failed (retries exhausted or a non-retryable status)."}, []string{"result"}),
		retries: prometheus.NewCounter(prometheus.CounterOpts{Name: name("retries_total"),
			Help: "Webhook requests retried after a network error, 429 or 5xx."}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{Name: name("dropped_total"),
			Help: "Webhook deliveries dropped: the oldest when the queue was full, or pending at shutdown past the flush timeout."}),
		queue: prometheus.NewGauge(prometheus.GaugeOpts{Name: name("queue_length"),
			Help: "Webhook deliveries waiting to be sent."}),
	}
}

func (m metrics) collectors() []prometheus.Collector {
	m.deliveries.WithLabelValues("sent")
	m.deliveries.WithLabelValues("failed")
	return []prometheus.Collector{m.deliveries, m.retries, m.dropped, m.queue}
}

// deliver POSTs ev, retrying as cfg says; false when it was not delivered.
func (s *Sink) deliver(ctx context.Context, ev Event, cfg Config) bool {
	b, err := body(ev, cfg.Format)
	if err != nil {
		s.m.deliveries.WithLabelValues("failed").Inc()
		s.log.Error("encoding webhook body", "kind", ev.Kind, "error", err)
		return false
	}
	policy := retry.Policy{MaxRetries: cfg.MaxRetries, Backoff: cfg.Backoff, MaxBackoff: cfg.MaxBackoff}
	attempts, err := retry.Do(ctx, policy, func() (bool, error) { return s.post(ctx, cfg, b) }, func(err error, wait time.Duration) {
		s.m.retries.Inc()
		s.log.Debug("webhook delivery: retrying", "error", err, "in", wait)
	})
	switch {
	case err == nil:
		s.m.deliveries.WithLabelValues("sent").Inc()
		s.log.Debug("webhook delivered", "kind", ev.Kind, "status", ev.Status, "pid", ev.PID, "attempts", attempts)
		return true
	case ctx.Err() == nil:
		s.m.deliveries.WithLabelValues("failed").Inc()
		s.log.Error("webhook delivery failed: check webhook.url and the receiver's logs", "url", cfg.URL,
			"kind", ev.Kind, "status", ev.Status, "pid", ev.PID, "attempts", attempts, "error", err)
	}
	return false
}

// post sends one request; retry tells whether a failure may be retried.
func (s *Sink) post(ctx context.Context, cfg Config, b []byte) (retry bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, cfg.URL, bytes.NewReader(b))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "memsight-agent")
	if len(cfg.Secret) > 0 {
		req.Header.Set(SignatureHeader, Sign(cfg.Secret, b))
	}
	resp, err := s.opt.Client.Do(req)
	if err != nil {
		return true, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return false, nil
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return true, fmt.Errorf("POST %s: %s", cfg.URL, resp.Status)
	}
	return false, fmt.Errorf("POST %s: %s (not retried)", cfg.URL, resp.Status)
}
