package agent

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"time"

	"github.com/memsight/memsight/pkg/detect"
	"github.com/memsight/memsight/pkg/goexe"
	"github.com/memsight/memsight/pkg/observe"
	"github.com/memsight/memsight/pkg/probe"
	"github.com/memsight/memsight/pkg/process"
)

// Defaults of Config.
const (
	DefaultInterval     = time.Second
	DefaultSlowInterval = 10 * time.Second
	DefaultRescan       = 2 * time.Second // with exec events; see FallbackRescan
	DefaultReconcile    = 30 * time.Second
	DefaultMaxProcesses = 256
	DefaultExecWindow   = 5 * time.Second
	// DefaultMinProcessAge is memsight agent's --min-process-age: processes
	// younger are not looked at (Config.MinProcessAge is zero unless set).
	// Chosen with bench/churn.sh (docs/benchmarks.md).
	DefaultMinProcessAge = 500 * time.Millisecond
	defaultInspectors    = 4
	maxRetryBackoff      = 10 * time.Minute
	shutdownWait         = 10 * time.Second
)

// Config configures an Agent. Procs, Cache and Probes are required; zero
// values of the rest take the defaults.
type Config struct {
	ProcRoot string // procfs mount point; default /proc
	Logger   *slog.Logger
	Procs    *process.Reader
	// Cache inspects executables once per (device, inode, build ID). Size it
	// for the distinct executables of the machine, Go or not (failures are
	// cached too).
	Cache  *goexe.Cache
	Probes *probe.Probes
	// Trace selects opt-in probe groups attached to every watched
	// executable (once per executable, shared by its processes), each
	// process's share governed by OverheadBudget. The default attaches no
	// uprobe at all: everything is read from memory.
	Trace probe.Trace
	// OverheadBudget is the share of one CPU the trace probes may cost one
	// process (0: observe.DefaultOverheadBudget).
	OverheadBudget float64
	// Detect configures each process's detectors.
	Detect detect.Config
	// Interval is the time between two samples of one process.
	Interval time.Duration
	// SlowInterval is how often a process's costly reads run (the
	// goroutine census, /proc/PID/status): see observe.AttachConfig's
	// SlowEvery. The other reads run every Interval.
	SlowInterval time.Duration
	// Leaks turns on each process's goroutine-leak verdict on a slow
	// cadence (Leaks.Every; off by default): see observe.LeakScan.
	Leaks observe.LeakScan
	// Rescan is how often /proc is listed for new and vanished PIDs. With
	// the probes' exec events (the normal case) a new program is inspected
	// on its exec and the rescan is a safety net; without them, a Rescan
	// left at DefaultRescan is FallbackRescan.
	Rescan time.Duration
	// Reconcile is how often every known process is checked again: an exec
	// after ExecWindow, failed attaches (with backoff).
	Reconcile time.Duration
	// ExecWindow: a process that is not (yet) a Go process is re-inspected at
	// every rescan while younger than this, so that a fork followed by an
	// exec is seen within one rescan.
	ExecWindow time.Duration
	// MinProcessAge: processes younger than this are not attached yet.
	MinProcessAge time.Duration
	// IncludeComm, when set, limits the agent to processes whose comm
	// matches; ExcludeComm: processes whose comm matches are never attached.
	IncludeComm, ExcludeComm *regexp.Regexp
	// Filters leave out processes by cgroup and by pod (namespace, labels).
	Filters
	// MaxProcesses caps the processes watched at once; the others wait,
	// are logged and counted (model.Stats.Skipped["max_processes"]).
	MaxProcesses int
	// Self is memsight's own PID (default os.Getpid()); it and every process
	// running memsight's executable are never attached.
	Self int
	// Inspectors is how many processes are inspected and attached at once.
	Inspectors int
	// Profiles bounds the profiles read on request and kept as evidence.
	Profiles ProfileConfig
	// Pods, when set, names the pod, namespace and container of processes
	// in Kubernetes pods, and keeps memsight away from pods annotated
	// memsight.io/ignore: "true" (pkg/kube). Nil outside Kubernetes.
	Pods Pods
}

func (c Config) withDefaults() (Config, error) {
	if c.Procs == nil || c.Cache == nil || c.Probes == nil {
		return c, errors.New("agent: Procs, Cache and Probes are required")
	}
	if c.ProcRoot == "" {
		c.ProcRoot = "/proc"
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.Interval, DefaultInterval)
	def(&c.SlowInterval, DefaultSlowInterval)
	def(&c.Rescan, DefaultRescan)
	def(&c.Reconcile, DefaultReconcile)
	def(&c.ExecWindow, DefaultExecWindow)
	if c.Leaks.Every > 0 && c.Leaks.Slots == nil {
		c.Leaks.Slots = observe.NewLeakSlots(1) // one process's scan at a time
	}
	if c.MinProcessAge < 0 {
		return c, fmt.Errorf("agent: negative minimum process age %v", c.MinProcessAge)
	}
	if c.MaxProcesses <= 0 {
		c.MaxProcesses = DefaultMaxProcesses
	}
	if c.Self <= 0 {
		c.Self = os.Getpid()
	}
	if c.Inspectors <= 0 {
		c.Inspectors = defaultInspectors
	}
	if c.Pods == nil && c.podRules() {
		c.Logger.Warn("the namespace and pod-selector excludes need Kubernetes (--kubernetes): they are off",
			"component", "agent")
	}
	return c, nil
}
