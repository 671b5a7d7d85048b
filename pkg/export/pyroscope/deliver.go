package pyroscope

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
	pushes  *prometheus.CounterVec
	retries prometheus.Counter
	dropped prometheus.Counter
	skipped *prometheus.CounterVec
	queue   prometheus.Gauge
}

func newMetrics() metrics {
	name := func(n string) string { return prometheus.BuildFQName("memsight", "pyroscope", n) }
	return metrics{
		pushes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: name("pushes_total"),
			Help: "Profile pushes to Pyroscope by result: sent (2xx), failed (retries exhausted or a non-retryable status)."}, []string{"result"}),
		retries: prometheus.NewCounter(prometheus.CounterOpts{Name: name("retries_total"),
			Help: "Profile pushes retried after a network error, 429 or 5xx."}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{Name: name("dropped_total"),
			Help: "Profile pushes dropped: the oldest when the queue was full."}),
		skipped: prometheus.NewCounterVec(prometheus.CounterOpts{Name: name("profiles_skipped_total"),
			Help: "Profiles not pushed because they could not be read, by kind (the process records none, exited, or over the read budget)."}, []string{"kind"}),
		queue: prometheus.NewGauge(prometheus.GaugeOpts{Name: name("queue_length"),
			Help: "Profile pushes waiting to be sent."}),
	}
}

func (m metrics) collectors() []prometheus.Collector {
	m.pushes.WithLabelValues("sent")
	m.pushes.WithLabelValues("failed")
	m.skipped.WithLabelValues("heap")
	m.skipped.WithLabelValues("goroutine")
	return []prometheus.Collector{m.pushes, m.retries, m.dropped, m.skipped, m.queue}
}

func (p *Pusher) deliverLoop(ctx context.Context) {
	for {
		for {
			ps, ok := p.pop()
			if !ok {
				break
			}
			p.deliver(ctx, ps)
			if ctx.Err() != nil {
				return
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-p.wake:
		}
	}
}

// deliver sends one push, retrying as Config says.
func (p *Pusher) deliver(ctx context.Context, ps push) bool {
	policy := retry.Policy{MaxRetries: p.cfg.MaxRetries, Backoff: p.cfg.Backoff, MaxBackoff: p.cfg.MaxBackoff}
	attempts, err := retry.Do(ctx, policy, func() (bool, error) { return p.post(ctx, ps) },
		func(error, time.Duration) { p.m.retries.Inc() })
	switch {
	case err == nil:
		p.m.pushes.WithLabelValues("sent").Inc()
		p.log.Debug("profile pushed", "pid", ps.pid, "kind", ps.kind, "bytes", len(ps.body), "attempts", attempts)
		return true
	case ctx.Err() == nil:
		p.m.pushes.WithLabelValues("failed").Inc()
		p.log.Error("pushing a profile to Pyroscope failed: check --pyroscope-url, the credentials and the server's logs",
			"url", p.ingest, "pid", ps.pid, "kind", ps.kind, "attempts", attempts, "error", err)
	}
	return false
}

// post sends one request; retry tells whether a failure may be retried.
func (p *Pusher) post(ctx context.Context, ps push) (retry bool, err error) {
	ctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.ingest+"?"+ps.query, bytes.NewReader(ps.body))
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("User-Agent", "memsight-agent")
	if p.cfg.BasicAuthUser != "" || p.cfg.BasicAuthPassword != "" {
		req.SetBasicAuth(p.cfg.BasicAuthUser, p.cfg.BasicAuthPassword)
	}
	if p.cfg.BearerToken != "" {
		req.Header.Set("Authorization", "Bearer "+p.cfg.BearerToken)
	}
	if p.cfg.TenantID != "" {
		req.Header.Set("X-Scope-OrgID", p.cfg.TenantID)
	}
	resp, err := p.opt.Client.Do(req)
	if err != nil {
		return true, err
	}
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	_ = resp.Body.Close()
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return false, nil
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return true, fmt.Errorf("POST %s: %s: %s", p.ingest, resp.Status, bytes.TrimSpace(msg))
	}
	return false, fmt.Errorf("POST %s: %s (not retried): %s", p.ingest, resp.Status, bytes.TrimSpace(msg))
}
