package webhook

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/memsight/memsight/pkg/model"
)

// Source is what the sink polls for findings (*agent.Agent).
type Source interface {
	Snapshot() model.Snapshot
}

// Config configures a Sink. Zero values take the defaults.
type Config struct {
	// URL receives the POSTs; "" only logs the events.
	URL    string
	Format string // FormatJSON (default) or FormatAlertmanager
	Secret []byte // signs each body (SignatureHeader) when set
	// Timeout bounds one request (default 5s).
	Timeout time.Duration
	// MaxRetries: a delivery failing with a network error, 429 or 5xx is
	// retried this many times (default 0: none), after Backoff, doubling up
	// to MaxBackoff (defaults 500ms, 30s). Other 4xx are not retried.
	MaxRetries          int
	Backoff, MaxBackoff time.Duration
	// QueueSize bounds the pending deliveries; when full, the oldest is
	// dropped and counted (default 1024).
	QueueSize int
	// FlushTimeout: when Run's context ends, pending deliveries are tried
	// this long more (default 5s).
	FlushTimeout time.Duration
	// Node names the machine in events (label node).
	Node string
	// Resend, in the alertmanager format only, re-sends the firing alerts
	// of active findings this often, as Alertmanager expects (it resolves
	// an alert not re-sent within its resolve_timeout). 0: never.
	Resend time.Duration
}

func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.Timeout, 5*time.Second)
	def(&c.Backoff, 500*time.Millisecond)
	def(&c.MaxBackoff, 30*time.Second)
	def(&c.FlushTimeout, 5*time.Second)
	if c.QueueSize <= 0 {
		c.QueueSize = 1024
	}
	if c.Format == "" {
		c.Format = FormatJSON
	}
	return c
}

// Options are a Sink's fixed parts.
type Options struct {
	Source Source
	// Interval is how often Source is polled (default 1s, the agent's
	// sampling interval).
	Interval time.Duration
	Client   *http.Client // default: a client without timeout (Config.Timeout applies)
	Logger   *slog.Logger
}

// Sink polls a Source for findings and delivers their events.
type Sink struct {
	opt  Options
	log  *slog.Logger
	tr   tracker
	wake chan struct{}

	mu    sync.Mutex
	cfg   Config
	queue []Event // oldest first

	m metrics
}

// New returns a Sink that does nothing until Run.
func New(cfg Config, opt Options) (*Sink, error) {
	if opt.Source == nil {
		return nil, errors.New("webhook: Source is required")
	}
	if opt.Interval <= 0 {
		opt.Interval = time.Second
	}
	if opt.Client == nil {
		opt.Client = &http.Client{}
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	return &Sink{
		opt: opt, log: opt.Logger.With("component", "webhook"), tr: tracker{active: map[key]Event{}, sent: map[key]time.Time{}},
		wake: make(chan struct{}, 1), cfg: cfg.withDefaults(), m: newMetrics(),
	}, nil
}

// SetConfig changes the webhook of a running sink; pending deliveries go
// to the new one, the active findings are kept (no event is repeated).
func (s *Sink) SetConfig(cfg Config) {
	s.mu.Lock()
	s.cfg = cfg.withDefaults()
	s.trimLocked()
	s.mu.Unlock()
}

// Collectors are the sink's metrics, for the exporter's registry.
func (s *Sink) Collectors() []prometheus.Collector { return s.m.collectors() }

// Run polls the Source every Interval and delivers the events until ctx is
// done; then it delivers what is pending for at most FlushTimeout, and
// returns. Stop it before the Source stops.
func (s *Sink) Run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Go(func() { s.deliverLoop(ctx) })
	t := time.NewTicker(s.opt.Interval)
	defer t.Stop()
	s.Observe(s.opt.Source.Snapshot())
	for {
		select {
		case <-ctx.Done():
			// No last poll: the agent detaches everything when it stops,
			// which is no reason to resolve the findings.
			wg.Wait()
			s.flush()
			return
		case <-t.C:
			if ctx.Err() == nil {
				s.Observe(s.opt.Source.Snapshot())
			}
		}
	}
}

// Observe diffs snap against the previous snapshot, logs the events and
// queues their deliveries. Run calls it; call it directly only instead of
// Run, never concurrently.
func (s *Sink) Observe(snap model.Snapshot) {
	s.mu.Lock()
	node, format, resend := s.cfg.Node, s.cfg.Format, s.cfg.Resend
	s.mu.Unlock()
	evs := s.tr.diff(snap, node)
	for _, ev := range evs {
		s.logEvent(ev)
	}
	if format == FormatAlertmanager && resend > 0 {
		evs = append(evs, s.tr.due(snap.Time, resend)...)
	}
	s.mu.Lock()
	if s.cfg.URL == "" {
		s.mu.Unlock()
		return
	}
	s.queue = append(s.queue, evs...)
	s.trimLocked()
	s.mu.Unlock()
	if len(evs) > 0 {
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
}

// trimLocked drops the oldest deliveries beyond QueueSize. s.mu is held.
func (s *Sink) trimLocked() {
	if over := len(s.queue) - s.cfg.QueueSize; over > 0 {
		for _, ev := range s.queue[:over] {
			s.log.Warn("webhook queue full: dropping the oldest delivery", "queue_size", s.cfg.QueueSize,
				"kind", ev.Kind, "status", ev.Status, "pid", ev.PID)
		}
		s.m.dropped.Add(float64(over))
		s.queue = append(s.queue[:0], s.queue[over:]...)
	}
	s.m.queue.Set(float64(len(s.queue)))
}

func (s *Sink) logEvent(ev Event) {
	attrs := []any{"status", ev.Status, "kind", ev.Kind, "severity", ev.Severity, "pid", ev.PID, "comm", ev.Comm,
		"container_id", ev.ContainerID, "since", ev.Since, "summary", ev.Summary}
	if ev.Status == StatusResolved {
		attrs = append(attrs, "duration", ev.ResolvedAt.Sub(ev.Since).Round(time.Millisecond))
		s.log.Info("finding resolved", attrs...)
		return
	}
	s.log.Warn("finding fired", append(attrs, "evidence", ev.Evidence)...)
}

// pop returns the oldest pending delivery and the config to send it with.
func (s *Sink) pop() (Event, Config, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.queue) == 0 {
		return Event{}, s.cfg, false
	}
	ev := s.queue[0]
	s.queue = s.queue[1:]
	s.m.queue.Set(float64(len(s.queue)))
	return ev, s.cfg, true
}

func (s *Sink) deliverLoop(ctx context.Context) {
	for {
		for {
			ev, cfg, ok := s.pop()
			if !ok {
				break
			}
			if !s.deliver(ctx, ev, cfg) && ctx.Err() != nil {
				s.requeue(ev) // interrupted by shutdown: the flush retries it
				return
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		}
	}
}

// requeue puts an interrupted delivery back at the head of the queue.
func (s *Sink) requeue(ev Event) {
	s.mu.Lock()
	s.queue = append([]Event{ev}, s.queue...)
	s.trimLocked()
	s.mu.Unlock()
}

// flush delivers the pending events for at most FlushTimeout.
func (s *Sink) flush() {
	s.mu.Lock()
	n, d := len(s.queue), s.cfg.FlushTimeout
	s.mu.Unlock()
	if n == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	start := time.Now()
	for {
		ev, cfg, ok := s.pop()
		if !ok {
			s.log.Info("webhook deliveries flushed", "deliveries", n, "duration", time.Since(start).Round(time.Millisecond))
			return
		}
		if !s.deliver(ctx, ev, cfg) && ctx.Err() != nil {
			s.mu.Lock()
			left := len(s.queue) + 1
			s.mu.Unlock()
			s.m.dropped.Add(float64(left))
			s.log.Warn("webhook flush timed out: dropping the pending deliveries", "flush_timeout", d, "dropped", left)
			return
		}
	}
}
