package main

import (
	"context"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/pflag"

	"github.com/memsight/memsight/pkg/agent"
	"github.com/memsight/memsight/pkg/config"
	"github.com/memsight/memsight/pkg/kube"
)

// kubeSyncTimeout bounds how long the agent waits for the first list of
// the node's pods before it starts attaching (without pod names, and
// without honouring memsight.io/ignore, until the list arrives).
const kubeSyncTimeout = 10 * time.Second

// kubeFlags are the agent's flags about Kubernetes.
type kubeFlags struct {
	mode       string // auto, on or off
	kubeconfig string
	node       string
	events     bool
}

func addKubeFlags(f *pflag.FlagSet, k *kubeFlags) {
	f.StringVar(&k.mode, "kubernetes", "auto", "pod, namespace and container names from the Kubernetes API, and the memsight.io/ignore pod annotation: auto (on in a pod, where KUBERNETES_SERVICE_HOST is set, or with --kubeconfig), on, off")
	f.StringVar(&k.kubeconfig, "kubeconfig", "", "kubeconfig file to reach the Kubernetes API (default: the pod's service account)")
	f.StringVar(&k.node, "node-name", "", "this node's name in Kubernetes: only its pods are watched (default $NODE_NAME)")
	f.BoolVar(&k.events, "kube-events", true, "with Kubernetes: post an Event (type Warning, reason FinalizerStall, RSSGrowth, ...) on the pod when a finding fires")
}

// kubeSettings puts the flags given on the command line over the
// configuration file's kubernetes section (read at start only).
func kubeSettings(s config.Kube, flags *pflag.FlagSet, k kubeFlags) kubeFlags {
	out := kubeFlags{mode: s.Mode, kubeconfig: s.Kubeconfig, node: s.NodeName, events: s.Events}
	for name, apply := range map[string]func(){
		"kubernetes": func() { out.mode = k.mode }, "kubeconfig": func() { out.kubeconfig = k.kubeconfig },
		"node-name": func() { out.node = k.node }, "kube-events": func() { out.events = k.events },
	} {
		if flags.Changed(name) {
			apply()
		}
	}
	return out
}

// kubeRun is the agent's Kubernetes side: the pod cache (the agent's Pods)
// and the Events recorder. A nil *kubeRun (Kubernetes off) does nothing.
type kubeRun struct {
	k      kubeFlags
	api    kube.API
	pods   *kube.Pods
	log    *slog.Logger
	cancel context.CancelFunc
	ctx    context.Context
	wg     sync.WaitGroup
}

// startKube connects to the Kubernetes API when --kubernetes says so,
// starts the pod informer and waits (at most kubeSyncTimeout) for its first
// list. An unreachable API server is not an error: the agent runs without
// pod names until it answers. A configuration that cannot work (no node
// name, no credentials with --kubernetes=on) is.
func startKube(ctx context.Context, k kubeFlags, log *slog.Logger) (*kubeRun, error) {
	switch k.mode {
	case "off":
		return nil, nil
	case "auto":
		if !kube.InCluster() && k.kubeconfig == "" {
			return nil, nil
		}
	case "on":
	default:
		return nil, usagef("--kubernetes: unknown mode %q (allowed: auto, on, off)", k.mode)
	}
	if k.node == "" {
		k.node = os.Getenv("NODE_NAME")
	}
	if k.node == "" {
		return nil, usagef("--kubernetes: no node name: set NODE_NAME (the DaemonSet passes spec.nodeName) or --node-name, or pass --kubernetes=off")
	}
	rc, err := kube.RESTConfig(k.kubeconfig)
	if err != nil {
		return nil, usagef("--kubernetes: %v", err)
	}
	api, err := kube.NewAPI(rc)
	if err != nil {
		return nil, err
	}
	pods, err := kube.NewPods(kube.PodsConfig{API: api, Node: k.node, Logger: log})
	if err != nil {
		return nil, usagef("%v", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	r := &kubeRun{k: k, api: api, pods: pods, log: log, ctx: ctx, cancel: cancel}
	r.wg.Go(func() { pods.Run(ctx) })
	log.Info("Kubernetes enrichment on", "node", k.node, "api_server", rc.Host, "events", k.events)
	pods.WaitForSync(ctx, kubeSyncTimeout)
	return r, nil
}

// agentPods is the agent's Config.Pods: nil without Kubernetes.
func (r *kubeRun) agentPods() agent.Pods {
	if r == nil {
		return nil
	}
	return r.pods
}

// startEvents starts the Events recorder on ag's findings (with
// --kube-events) and returns its metrics.
func (r *kubeRun) startEvents(ag kube.Source, interval time.Duration) ([]prometheus.Collector, error) {
	if r == nil || !r.k.events {
		return nil, nil
	}
	ev, err := kube.NewEvents(kube.EventsConfig{API: r.api, Source: ag, Pods: r.pods, Node: r.k.node, Interval: interval, Logger: r.log})
	if err != nil {
		return nil, err
	}
	r.wg.Go(func() { ev.Run(r.ctx) })
	return ev.Collectors(), nil
}

// stop ends the informer and the recorder, and waits for them.
func (r *kubeRun) stop() {
	if r == nil {
		return
	}
	r.cancel()
	r.wg.Wait()
}
