package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/memsight/memsight/pkg/agent"
	"github.com/memsight/memsight/pkg/config"
	"github.com/memsight/memsight/pkg/detect"
	"github.com/memsight/memsight/pkg/export/api"
	"github.com/memsight/memsight/pkg/export/web"
	"github.com/memsight/memsight/pkg/export/webhook"
	"github.com/memsight/memsight/pkg/goexe"
	"github.com/memsight/memsight/pkg/model"
	"github.com/memsight/memsight/pkg/probe"
)

// agentCacheSize is how many inspected executables (Go or not) the agent
// keeps. A Go binary costs about its file size in memory while cached or
// watched; failures (non-Go files) cost a few bytes.
const agentCacheSize = 64

type agentOptions struct {
	traceOptions
	version     string // memsight's, for memsight_build_info
	bpfStats    bool
	listen      string
	pprof       string
	excludeComm string
	includeComm string
	filters     filterFlags
	conf        configFlags
	web         webFlags
	kube        kubeFlags
	profiles    profileFlags
	cfg         agent.Config
}

func newAgentCmd(g *globalOptions) *cobra.Command {
	return agentCmd(g, &agentOptions{cfg: agent.Config{Detect: detect.Defaults()}})
}

// agentCmd returns the agent command setting o from its flags.
func agentCmd(g *globalOptions, o *agentOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "agent",
		Short: "Watch every Go process of the machine; serve Prometheus metrics and a JSON API",
		Long: `agent attaches to every Go process of the machine (one set of probes per
executable, shared by its processes), samples each every --interval, runs the
detectors, and serves on --listen a read-only web page at / (the Go
processes, their RSS, heap and finalizer-queue charts over the last hour, the
active findings with the stuck finalizer's stack), /metrics (Prometheus),
/api/v1/processes, /api/v1/processes/{pid}, /api/v1/findings,
/api/v1/history, /api/v1/processes/{pid}/pprof/{heap,allocs,goroutine}
(profiles read from memory on request), /api/v1/targets (scrape discovery),
/api/v1/evidence (what was kept when findings fired), /healthz and /readyz.
With --pyroscope-url it pushes every watched process's heap and goroutine
profiles to Pyroscope every --profile-interval.
New processes are found by a BPF exec event and attached within tens of
milliseconds (--rescan-interval is the safety net, and the way when exec
events are unavailable); SIGTERM or Ctrl-C detaches everything and exits.
Pods are named from the Kubernetes API when running in a cluster
(--kubernetes). Processes are left out by comm (--exclude-comm,
--include-comm), by cgroup path (--exclude-cgroup, --include-cgroup), and,
with Kubernetes, by namespace (--exclude-namespace, --include-namespace)
and pod labels (--pod-selector); a watched process whose pod stops
matching is detached at its next sample.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			file, err := readConfig(o.conf.path)
			if err != nil {
				return err
			}
			set, err := loadSettings(file, cmd.Flags(), o)
			if err != nil && o.conf.path != "" {
				return usagef("--config %s: %v", o.conf.path, err)
			} else if err != nil {
				return usagef("%v", err)
			}
			if err := checkIntervals(set, o.cfg.Rescan); err != nil {
				return err
			}
			if err := checkLeakScan(o.cfg.Leaks); err != nil {
				return err
			}
			if err := o.checkBudget(); err != nil {
				return err
			}
			if err := checkWebConfig(set); err != nil {
				return err
			}
			o.version = cmd.Root().Version
			return runAgent(cmd.Context(), g, o, set, cmd.Flags())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.listen, "listen", ":9464", "address of the HTTP server (the page at /, /metrics, /api/v1/..., /healthz, /readyz)")
	f.StringVar(&o.pprof, "pprof", "", "serve the agent's own Go profiles (net/http/pprof, /debug/pprof/) on this address, e.g. 127.0.0.1:6060; off by default, never on --listen")
	f.DurationVar(&o.cfg.Interval, "interval", agent.DefaultInterval, "time between two samples of a process")
	f.DurationVar(&o.cfg.SlowInterval, "slow-interval", agent.DefaultSlowInterval, "time between two goroutine censuses and /proc/PID/status reads of a process (sooner when it starts new goroutines); the cheap reads run every --interval")
	f.DurationVar(&o.cfg.Rescan, "rescan-interval", agent.DefaultRescan, "how often /proc is listed for new processes: a safety net behind exec events (250ms when exec events are unavailable and this is left at its default)")
	f.DurationVar(&o.cfg.Reconcile, "reconcile-interval", agent.DefaultReconcile, "how often every process is checked again (late execs, failed attaches)")
	f.DurationVar(&o.cfg.MinProcessAge, "min-process-age", agent.DefaultMinProcessAge, "attach only to processes at least this old (nothing of a younger one is read)")
	f.StringVar(&o.excludeComm, "exclude-comm", "", "never attach to processes whose comm matches this regular expression")
	f.StringVar(&o.includeComm, "include-comm", "", "attach only to processes whose comm matches this regular expression")
	f.BoolVar(&o.bpfStats, "bpf-stats", false, "turn on the kernel's BPF run-time statistics for memsight_bpf_program_* (system-wide: about 70 ns more per run of every BPF program of the node; needs CAP_SYS_ADMIN)")
	f.IntVar(&o.cfg.MaxProcesses, "max-processes", agent.DefaultMaxProcesses, "watch at most this many processes at once")
	f.DurationVar(&o.cfg.Detect.StallThreshold, "stall-threshold", o.cfg.Detect.StallThreshold, "a finalizer or cleanup running longer than this is stuck")
	f.DurationVar(&o.cfg.Detect.BacklogWindow, "backlog-window", o.cfg.Detect.BacklogWindow, "finalizer_backlog: a queue growing monotonically this long is a backlog")
	addTraceFlags(f, &o.traceOptions)
	addLeakScanFlags(f, &o.cfg.Leaks, "10m", agentLeakMaxMemory, agentLeakReadRate)
	addFilterFlags(f, &o.filters)
	addConfigFlags(f, &o.conf)
	addWebFlags(f, &o.web)
	addKubeFlags(f, &o.kube)
	addProfileFlags(f, &o.profiles)
	return cmd
}

// agentFindingKinds lists the detectors' finding kinds, exported as
// memsight_finding_active 0 or 1 for every process.
func agentFindingKinds() []string {
	return []string{
		model.KindFinalizerStall, model.KindFinalizerBacklog, model.KindCleanupStall,
		model.KindRSSGrowth, model.KindHeapGrowth, model.KindGoroutineGrowth, model.KindFDGrowth,
		model.KindGCPauseRegression, model.KindGoroutineLeak,
	}
}

// engine is the agent's pipeline without its outputs: procfs, the loaded
// probes, the inspection cache and the agent itself. top runs one too.
type engine struct {
	ag     *agent.Agent
	probes *probe.Probes
	cache  *goexe.Cache
}

// Close releases the cache and the BPF objects; call it after ag.Run returned.
func (e *engine) Close() {
	e.cache.Close()
	e.probes.Close()
}

// newEngine loads the probes and builds an agent from cfg (Procs, Cache,
// Probes, ProcRoot and Logger are filled in here).
func newEngine(g *globalOptions, cfg agent.Config, bpfStats bool) (*engine, error) {
	log := g.logger()
	if err := preflightGate(g, log); err != nil {
		return nil, err
	}
	procs, err := g.procs()
	if err != nil {
		return nil, err
	}
	probes, err := probe.New(probe.Config{Logger: log})
	if err != nil { // missing capabilities were reported by preflightGate
		return nil, fmt.Errorf("loading BPF: %w", err)
	}
	// The kernel's BPF statistics (memsight_bpf_program_*) are system-wide:
	// while on, every BPF program of the node (a CNI's per-packet ones too)
	// pays about 70 ns per run, and turning them on needs CAP_SYS_ADMIN. So
	// only on request, and a refusal is not fatal.
	if bpfStats {
		if err := probes.EnableStats(); err != nil {
			log.Warn("--bpf-stats: BPF program statistics stay off", "error", err)
		}
	}
	cache := goexe.NewCache(agentCacheSize)
	cfg.ProcRoot, cfg.Logger, cfg.Procs, cfg.Cache, cfg.Probes = g.procRoot, log, procs, cache, probes
	ag, err := agent.New(cfg)
	if err != nil {
		cache.Close()
		probes.Close()
		return nil, err
	}
	return &engine{ag: ag, probes: probes, cache: cache}, nil
}

func runAgent(ctx context.Context, g *globalOptions, o *agentOptions, set config.Settings, flags *pflag.FlagSet) error {
	log := g.logger()
	cfg := o.cfg
	cfg.Interval, cfg.Detect, cfg.IncludeComm, cfg.ExcludeComm = set.Interval, set.Detect, set.IncludeComm, set.ExcludeComm
	cfg.MaxProcesses, cfg.MinProcessAge = set.MaxProcesses, minProcessAge(set)
	cfg.Filters = filters(set)
	cfg.Trace, cfg.OverheadBudget = o.trace, o.overheadBudget
	cfg.Profiles = agentProfileConfig(set)
	kb, err := startKube(ctx, kubeSettings(set.Kubernetes, flags, o.kube), log) // nil without Kubernetes
	if err != nil {
		return err
	}
	cfg.Pods = kb.agentPods()
	eng, err := newEngine(g, cfg, o.bpfStats)
	if err != nil {
		kb.stop()
		return err
	}
	defer eng.Close()
	defer kb.stop() // before eng.Close: the Events recorder reads the agent
	ag, probes := eng.ag, eng.probes
	sink, err := webhook.New(webhookConfig(set), webhook.Options{Source: ag, Interval: set.Interval, Logger: log})
	if err != nil {
		return err
	}
	extra := sink.Collectors()
	kubeMetrics, err := kb.startEvents(ag, set.Interval)
	if err != nil {
		return err
	}
	extra = append(extra, kubeMetrics...)
	pusher, pushMetrics, err := newPusher(set, ag, log)
	if err != nil {
		return err
	}
	extra = append(extra, pushMetrics...)
	extra = append(extra, newProfileCollector(ag))
	var watcher *config.Watcher
	if o.conf.path != "" {
		hup := make(chan os.Signal, 1)
		signal.Notify(hup, syscall.SIGHUP)
		defer signal.Stop(hup)
		watcher, err = config.NewWatcher(config.WatcherConfig{Path: o.conf.path, Reload: hup, Logger: log,
			Apply: reloader(flags, o, set, ag, sink, log.With("component", "config").Warn)})
		if err != nil {
			return err
		}
		extra = append(extra, watcher.Collectors()...)
	}
	exp, err := newAgentExporter(ag, o.version, log, extra...)
	if err != nil {
		return err
	}
	node, _ := os.Hostname()
	apiHandler, err := api.New(api.Config{Source: ag, Logger: log, Profiles: ag, Node: node})
	if err != nil {
		return err
	}
	hist, err := web.NewRecorder(web.RecorderConfig{Source: ag, Logger: log})
	if err != nil {
		return err
	}
	page, err := web.New(web.Config{Recorder: hist, Logger: log})
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", exp.Handler())
	mux.Handle("/", apiHandler)
	for _, pattern := range web.Routes() { // the page at /, its files, /api/v1/history
		mux.Handle(pattern, page)
	}
	srv, err := listenHTTP(set, mux, apiHandler, log)
	if err != nil {
		return err
	}
	if set.Pprof != "" {
		pp, err := startPprof(set.Pprof, log)
		if err != nil {
			srv.close()
			return err
		}
		defer pp.Close()
	}
	log.Info("memsight agent listening", "address", srv.addr(), "attach_mode", probes.AttachMode(),
		"profile", set.Profile, "config", o.conf.path, "webhook", set.Webhook.URL != "",
		"web_config", set.WebConfigFile, "health_address", srv.healthAddr())

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	srvErr := make(chan error, 1)
	go func() {
		srvErr <- srv.serve()
		cancel()
	}()
	var wg sync.WaitGroup
	defer wg.Wait()
	if watcher != nil {
		wg.Go(func() { watcher.Run(ctx) })
	}
	histCtx, histStop := context.WithCancel(ctx)
	defer histStop() // runs before wg.Wait, even when ag.Run fails early
	wg.Go(func() { hist.Run(histCtx) })
	wg.Go(func() { runPusher(histCtx, pusher) })
	// The sink stops with the agent, then flushes its pending deliveries
	// (within webhook.flush_timeout) before runAgent returns.
	sinkCtx, sinkStop := context.WithCancel(context.Background())
	defer sinkStop()
	wg.Go(func() { sink.Run(sinkCtx) })
	runErr := ag.Run(ctx) // returns when ctx is done, after detaching everything
	cancel()              // ag.Run may also return early on error: stop the watcher and the recorder
	sinkStop()
	select {
	case err := <-srvErr: // the server failed first
		if !errors.Is(err, http.ErrServerClosed) {
			runErr = errors.Join(runErr, fmt.Errorf("serving HTTP: %w", err))
		}
	default:
		srv.shutdown(5 * time.Second)
		<-srvErr //nolint:errcheck // http.ErrServerClosed
	}
	return runErr
}
