package pyroscope

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/memsight/memsight/pkg/model"
)

// Source is what the pusher reads (*agent.Agent).
type Source interface {
	Snapshot() model.Snapshot
	Profile(ctx context.Context, pid int, kind string, wait bool) (*model.Profile, error)
}

// DefaultInterval is the default push interval.
const DefaultInterval = 60 * time.Second

// Config configures a Pusher. Zero values take the defaults.
type Config struct {
	// URL is the server's base URL (http://pyroscope:4040); /ingest is
	// appended to its path.
	URL string
	// Interval is the time between two pushes of a process (default 60s).
	Interval time.Duration
	// Kinds are the profiles pushed (default heap and goroutine).
	Kinds []string
	// BasicAuthUser and BasicAuthPassword, BearerToken and TenantID
	// (X-Scope-OrgID) are set on every request when not empty.
	BasicAuthUser, BasicAuthPassword string
	BearerToken                      string
	TenantID                         string
	// Timeout bounds one request (default 10s). A push failing with a
	// network error, 429 or 5xx is retried MaxRetries times (default 3)
	// after Backoff, doubling up to MaxBackoff (defaults 1s, 30s).
	Timeout             time.Duration
	MaxRetries          int
	Backoff, MaxBackoff time.Duration
	// QueueSize bounds the pushes waiting to be sent; the oldest is dropped
	// beyond (default 256).
	QueueSize int
	// Node names the machine (label node).
	Node string
}

func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.Interval, DefaultInterval)
	def(&c.Timeout, 10*time.Second)
	def(&c.Backoff, time.Second)
	def(&c.MaxBackoff, 30*time.Second)
	if c.MaxRetries == 0 {
		c.MaxRetries = 3
	}
	if c.QueueSize <= 0 {
		c.QueueSize = 256
	}
	if len(c.Kinds) == 0 {
		c.Kinds = []string{model.ProfileHeap, model.ProfileGoroutine}
	}
	return c
}

// Options are a Pusher's fixed parts.
type Options struct {
	Source Source
	Client *http.Client // default: a client without timeout (Config.Timeout applies)
	Logger *slog.Logger
}

// Pusher pushes profiles to Pyroscope.
type Pusher struct {
	cfg    Config
	ingest string // URL of /ingest
	opt    Options
	log    *slog.Logger
	wake   chan struct{}
	deltas *deltas

	mu    sync.Mutex
	queue []push // oldest first

	m metrics
}

// push is one request waiting to be sent.
type push struct {
	pid   int
	kind  string
	query string
	body  []byte
}

// New checks cfg and returns a Pusher that does nothing until Run.
func New(cfg Config, opt Options) (*Pusher, error) {
	if opt.Source == nil {
		return nil, errors.New("pyroscope: Source is required")
	}
	cfg = cfg.withDefaults()
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("pyroscope URL %q: want http(s)://host[:port][/path]", cfg.URL)
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + "/ingest"
	u.RawQuery = ""
	for _, k := range cfg.Kinds {
		if k != model.ProfileHeap && k != model.ProfileGoroutine {
			return nil, fmt.Errorf("pyroscope: profile %q cannot be pushed (heap, goroutine)", k)
		}
	}
	if opt.Client == nil {
		opt.Client = &http.Client{}
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	return &Pusher{
		cfg: cfg, ingest: u.String(), opt: opt, log: opt.Logger.With("component", "pyroscope"),
		wake: make(chan struct{}, 1), deltas: newDeltas(), m: newMetrics(),
	}, nil
}

// Collectors are the pusher's metrics, for the exporter's registry.
func (p *Pusher) Collectors() []prometheus.Collector { return p.m.collectors() }

// Run pushes every Interval until ctx is done.
func (p *Pusher) Run(ctx context.Context) {
	var wg sync.WaitGroup
	defer wg.Wait()
	wg.Go(func() { p.deliverLoop(ctx) })
	t := time.NewTicker(p.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			p.Collect(ctx)
		}
	}
}

// Collect reads the profiles of every watched process and queues their
// pushes. Run calls it every Interval.
func (p *Pusher) Collect(ctx context.Context) {
	snap := p.opt.Source.Snapshot()
	live := map[int]time.Time{}
	for _, proc := range snap.Processes {
		if proc.State != model.StateWatching {
			continue
		}
		live[proc.PID] = proc.Since
		for _, kind := range p.cfg.Kinds {
			if ctx.Err() != nil {
				return
			}
			p.collect(ctx, proc, kind)
		}
	}
	p.deltas.forget(live)
}

func (p *Pusher) collect(ctx context.Context, proc model.Process, kind string) {
	pr, err := p.opt.Source.Profile(ctx, proc.PID, kind, true)
	switch {
	case errors.Is(err, model.ErrNoProfile), errors.Is(err, model.ErrNotWatched):
		p.m.skipped.WithLabelValues(kind).Inc()
		p.log.Debug("no profile to push", "pid", proc.PID, "kind", kind, "reason", err)
		return
	case err != nil:
		p.m.skipped.WithLabelValues(kind).Inc()
		p.log.Warn("reading a profile to push", "pid", proc.PID, "kind", kind, "error", err)
		return
	}
	if kind == model.ProfileHeap {
		p.deltas.apply(proc.PID, proc.Since, pr.Profile)
	}
	var b bytes.Buffer
	if err := pr.Profile.Write(&b); err != nil {
		p.log.Error("encoding a profile", "pid", proc.PID, "kind", kind, "error", err)
		return
	}
	until := pr.Time
	q := url.Values{}
	q.Set("name", AppName(pr.Process, p.cfg.Node))
	q.Set("from", strconv.FormatInt(until.Add(-p.cfg.Interval).Unix(), 10))
	q.Set("until", strconv.FormatInt(until.Unix(), 10))
	q.Set("format", "pprof")
	q.Set("spyName", "memsight")
	p.enqueue(push{pid: proc.PID, kind: kind, query: q.Encode(), body: b.Bytes()})
}

// enqueue queues a push, dropping the oldest beyond QueueSize.
func (p *Pusher) enqueue(ps push) {
	p.mu.Lock()
	p.queue = append(p.queue, ps)
	if over := len(p.queue) - p.cfg.QueueSize; over > 0 {
		p.m.dropped.Add(float64(over))
		p.log.Warn("pyroscope queue full: dropping the oldest pushes", "dropped", over, "queue_size", p.cfg.QueueSize)
		p.queue = append(p.queue[:0], p.queue[over:]...)
	}
	p.m.queue.Set(float64(len(p.queue)))
	p.mu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

func (p *Pusher) pop() (push, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.queue) == 0 {
		return push{}, false
	}
	ps := p.queue[0]
	p.queue = p.queue[1:]
	p.m.queue.Set(float64(len(p.queue)))
	return ps, true
}

// AppName is the ingest API's name parameter of a process's profiles:
// its service name (model.ServiceName) and the labels pod, namespace,
// container, node and pid, each left out when unknown.
func AppName(proc model.Process, node string) string {
	var b strings.Builder
	b.WriteString(serviceName(model.ServiceName(proc)))
	b.WriteByte('{')
	first := true
	for _, kv := range [][2]string{
		{"container", proc.Container}, {"namespace", proc.Namespace}, {"node", node},
		{"pid", strconv.Itoa(proc.PID)}, {"pod", proc.Pod},
	} {
		if kv[1] == "" {
			continue
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		b.WriteString(kv[0] + "=" + labelValue(kv[1]))
	}
	b.WriteByte('}')
	return b.String()
}

// serviceName keeps the characters Pyroscope accepts in an application
// name ([A-Za-z0-9_./-]), replacing the others by '_'.
func serviceName(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '.', r == '/', r == '-':
			return r
		}
		return '_'
	}, s)
}

// labelValue replaces what the name parser splits on.
func labelValue(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case ',', '{', '}', '=':
			return '_'
		}
		return r
	}, strings.TrimSpace(s))
}
