package config

import (
	"time"
)

// File is the configuration file. Every key is optional; a zero or absent
// value takes the profile's (thresholds) or the built-in default.
type File struct {
	// Profile names the set of thresholds under Thresholds: dev, staging or
	// prod (default prod); --profile overrides it.
	Profile string `yaml:"profile"`
	Listen  string `yaml:"listen"`
	// WebConfigFile is a Prometheus web configuration file (TLS, client
	// certificates, basic auth: exporter-toolkit's format) for the server
	// on Listen; HealthListen, when set, is a second address serving only
	// /healthz and /readyz without them (for the kubelet's probes).
	WebConfigFile string `yaml:"web_config_file"`
	// Pprof is the agent's own net/http/pprof listener, apart from
	// Listen; "" (default): none.
	Pprof        string        `yaml:"pprof"`
	HealthListen string        `yaml:"health_listen"`
	Interval     time.Duration `yaml:"interval"`
	Excludes     Excludes      `yaml:"excludes"`
	Thresholds   Thresholds    `yaml:"thresholds"`
	Webhook      WebhookFile   `yaml:"webhook"`
	Kubernetes   KubeFile      `yaml:"kubernetes"`
	Profiles     ProfilesFile  `yaml:"profiles"`
}

// Excludes chooses the processes watched.
type Excludes struct {
	Comm          string         `yaml:"comm"`         // never attach to processes whose comm matches
	IncludeComm   string         `yaml:"include_comm"` // attach only to processes whose comm matches
	MaxProcesses  int            `yaml:"max_processes"`
	MinProcessAge *time.Duration `yaml:"min_process_age"` // absent: the flag's default
	// Cgroup: never attach to processes whose cgroup path (in any
	// hierarchy) matches; IncludeCgroup: attach only to those whose path
	// matches. Go regular expressions.
	Cgroup        string `yaml:"cgroup"`
	IncludeCgroup string `yaml:"include_cgroup"`
	// Namespaces: never attach to processes of pods in these Kubernetes
	// namespaces; IncludeNamespaces: attach only to processes of pods in
	// these.
	Namespaces        []string `yaml:"namespaces"`
	IncludeNamespaces []string `yaml:"include_namespaces"`
	// PodSelector is a Kubernetes label selector ("app=web,tier!=batch"):
	// attach only to processes of pods it matches.
	PodSelector string `yaml:"pod_selector"`
}

// Thresholds mirror detect.Config; a zero or absent value keeps the
// profile's.
type Thresholds struct {
	StallThreshold           time.Duration `yaml:"stall_threshold"`
	BacklogAccel             float64       `yaml:"backlog_accel"`
	BacklogAccelSamples      int           `yaml:"backlog_accel_samples"`
	BacklogWindow            time.Duration `yaml:"backlog_window"`
	BacklogMinQueue          int64         `yaml:"backlog_min_queue"`
	GrowthWindow             time.Duration `yaml:"growth_window"`
	GrowthMinWindow          time.Duration `yaml:"growth_min_window"`
	GrowthConfidence         float64       `yaml:"growth_confidence"`
	GrowthMinR2              float64       `yaml:"growth_min_r2"`
	RSSGrowthThreshold       float64       `yaml:"rss_growth_bytes_per_hour"`
	HeapGrowthThreshold      float64       `yaml:"heap_growth_bytes_per_hour"`
	GoroutineGrowthThreshold float64       `yaml:"goroutine_growth_per_hour"`
	FDGrowthThreshold        float64       `yaml:"fd_growth_per_hour"`
	GrowthMinBytes           uint64        `yaml:"growth_min_bytes"`
	GrowthMinCount           int           `yaml:"growth_min_count"`
	GCPauseFactor            float64       `yaml:"gc_pause_factor"`
	GCPauseFloor             time.Duration `yaml:"gc_pause_floor"`
	GCPauseBaselineSamples   int           `yaml:"gc_pause_baseline_samples"`
}

// WebhookFile is the webhook section; no url, no webhook.
type WebhookFile struct {
	URL string `yaml:"url"`
	// URLFile names a file holding the URL (a mounted Secret: URLs often
	// carry a token), read at every (re)load. At most one of URL and URLFile.
	URLFile string `yaml:"url_file"`
	Format  string `yaml:"format"` // json (default) or alertmanager
	// Secret signs each body (X-Memsight-Signature: sha256=<hex HMAC>);
	// SecretFile names a file holding it (a mounted Secret), read at every
	// (re)load. At most one of them.
	Secret       string        `yaml:"secret"`
	SecretFile   string        `yaml:"secret_file"`
	Timeout      time.Duration `yaml:"timeout"`       // per request (default 5s)
	MaxRetries   int           `yaml:"max_retries"`   // after the first attempt (default 5)
	Backoff      time.Duration `yaml:"backoff"`       // first retry delay, doubled each time (default 500ms)
	MaxBackoff   time.Duration `yaml:"max_backoff"`   // default 30s
	QueueSize    int           `yaml:"queue_size"`    // pending deliveries; the oldest is dropped beyond (default 1024)
	FlushTimeout time.Duration `yaml:"flush_timeout"` // on shutdown, pending deliveries are tried this long (default 5s)
	// ResendInterval: alertmanager format only, firing alerts are re-sent
	// this often (default 1m; Alertmanager resolves an alert not re-sent
	// within its resolve_timeout).
	ResendInterval time.Duration `yaml:"resend_interval"`
}

// KubeFile is the kubernetes section: pod names from the Kubernetes API and
// Events on pods. Changes take effect at the next restart.
type KubeFile struct {
	// Mode: auto (default: on in a pod, or with kubeconfig), on or off.
	Mode       string `yaml:"mode"`
	Kubeconfig string `yaml:"kubeconfig"` // default: the pod's service account
	NodeName   string `yaml:"node_name"`  // default: $NODE_NAME
	Events     *bool  `yaml:"events"`     // Events on pods when findings fire (default true)
}
