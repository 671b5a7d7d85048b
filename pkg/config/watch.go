package config

import (
	"context"
	"crypto/sha256"
	"errors"
	"log/slog"
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// DefaultPoll is how often Watcher reads the file.
const DefaultPoll = 2 * time.Second

// WatcherConfig configures a Watcher.
type WatcherConfig struct {
	// Path is the configuration file. It is read through symlinks at every
	// poll, so a Kubernetes ConfigMap update (the ..data symlink swapped
	// atomically) is seen like any other change. The files it names
	// (webhook.url_file, webhook.secret_file) are read too: a rotated
	// Secret is a change.
	Path string
	// Poll is how often the file is read (default DefaultPoll). A change is
	// noticed by its content (SHA-256), not its mtime, so a swap to a file
	// with an older mtime is seen too.
	Poll time.Duration
	// Reload, when it delivers, reloads the file even if unchanged (SIGHUP).
	Reload <-chan os.Signal
	// Apply loads the new file: it resolves and applies it, or returns an
	// error and leaves the running configuration as it was.
	Apply  func(*File) error
	Logger *slog.Logger
}

// Watcher reloads the configuration file when it changes or on Reload.
type Watcher struct {
	cfg      WatcherConfig
	log      *slog.Logger
	failures prometheus.Counter
	success  prometheus.Gauge  // the time of the last success
	ok       prometheus.Gauge  // 1 when the last load succeeded
	last     [sha256.Size]byte // the content last tried (contentSum)
}

// NewWatcher returns a watcher of a file that was loaded (and applied) once
// already; that load counts as the last success.
func NewWatcher(cfg WatcherConfig) (*Watcher, error) {
	if cfg.Path == "" || cfg.Apply == nil {
		return nil, errors.New("config watcher: Path and Apply are required")
	}
	if cfg.Poll <= 0 {
		cfg.Poll = DefaultPoll
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	w := &Watcher{
		cfg: cfg,
		log: cfg.Logger.With("component", "config", "path", cfg.Path),
		failures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: prometheus.BuildFQName("memsight", "agent", "config_reload_failures_total"),
			Help: "Configuration reloads rejected (unreadable file, invalid YAML or value); the running configuration stayed.",
		}),
		success: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: prometheus.BuildFQName("memsight", "agent", "config_last_reload_success_timestamp_seconds"),
			Help: "When the configuration file was last loaded successfully (at start or by a reload), in Unix seconds.",
		}),
		ok: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: prometheus.BuildFQName("memsight", "agent", "config_last_reload_successful"),
			Help: "1 when the last load of the configuration file succeeded, 0 when it was rejected and an older configuration runs.",
		}),
	}
	w.success.SetToCurrentTime()
	w.ok.Set(1)
	if b, err := os.ReadFile(cfg.Path); err == nil {
		f, _ := Parse(b)
		w.last = contentSum(b, f)
	}
	return w, nil
}

// contentSum is the SHA-256 of the file's bytes b and of the files its
// decoded form f names (nil: none), each read now.
func contentSum(b []byte, f *File) [sha256.Size]byte {
	h := sha256.New()
	h.Write(b)
	if f != nil {
		for _, p := range []string{f.Webhook.URLFile, f.Webhook.SecretFile} {
			if p == "" {
				continue
			}
			h.Write([]byte("\x00" + p + "\x00"))
			if c, err := os.ReadFile(p); err == nil {
				h.Write(c)
			} else {
				h.Write([]byte("\x00unreadable"))
			}
		}
	}
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return sum
}

// Collectors are the watcher's metrics, for the exporter's registry.
func (w *Watcher) Collectors() []prometheus.Collector {
	return []prometheus.Collector{w.failures, w.success, w.ok}
}

// Run polls the file and listens to Reload until ctx is done.
func (w *Watcher) Run(ctx context.Context) {
	t := time.NewTicker(w.cfg.Poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			w.check(false)
		case <-w.cfg.Reload:
			w.check(true)
		}
	}
}

// check reloads the file if its content changed since the last try, or
// always when forced. A bad file is reported once per content.
func (w *Watcher) check(force bool) {
	b, err := os.ReadFile(w.cfg.Path)
	if err != nil {
		if force {
			w.fail(err)
		} else {
			w.log.Debug("reading config file", "error", err)
		}
		return
	}
	f, err := Parse(b)
	sum := contentSum(b, f)
	if sum == w.last && !force {
		return
	}
	w.last = sum
	why := "file changed"
	if force {
		why = "SIGHUP"
	}
	if err == nil {
		err = w.cfg.Apply(f)
	}
	if err != nil {
		w.fail(err)
		return
	}
	w.success.SetToCurrentTime()
	w.ok.Set(1)
	w.log.Info("configuration reloaded", "trigger", why)
}

func (w *Watcher) fail(err error) {
	w.failures.Inc()
	w.ok.Set(0)
	w.log.Error("configuration reload rejected: keeping the running configuration; fix the file and it is reloaded on its next change or SIGHUP",
		"error", err)
}
