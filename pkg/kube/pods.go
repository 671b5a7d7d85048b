package kube

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	"k8s.io/klog/v2"

	"github.com/memsight/memsight/pkg/model"
)

// uidIndex indexes pods by UID, and static pods' mirrors by the UID of the
// static pod (mirrorAnnotation), which is what their cgroups are named after.
const uidIndex = "uid"

// PodsConfig configures Pods.
type PodsConfig struct {
	API API
	// Node is this node's name (spec.nodeName; the DaemonSet passes it as
	// NODE_NAME): only its pods are listed and watched.
	Node   string
	Logger *slog.Logger // nil discards
}

// Pods is a cache of the pods of one node, kept up to date by an informer;
// it implements agent.Pods (without importing it: cmd/memsight hands it to
// the agent, which checks it at compile time).
type Pods struct {
	inf  cache.SharedIndexInformer
	node string
	log  *slog.Logger
}

// NewPods returns a Pods that lists nothing until Run.
func NewPods(cfg PodsConfig) (*Pods, error) {
	if cfg.API == nil {
		return nil, errors.New("kube: PodsConfig.API is required")
	}
	if cfg.Node == "" {
		return nil, errors.New("kube: no node name: set NODE_NAME (the DaemonSet passes spec.nodeName) or --node-name")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	sel := NodeSelector(cfg.Node)
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.FieldSelector = sel
			return cfg.API.ListPods(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.FieldSelector = sel
			return cfg.API.WatchPods(ctx, o)
		},
	}
	inf := cache.NewSharedIndexInformerWithOptions(cache.ToListWatcherWithWatchListSemantics(lw, cfg.API), &corev1.Pod{},
		cache.SharedIndexInformerOptions{Indexers: cache.Indexers{uidIndex: podUIDs}, ObjectDescription: "pods on node " + cfg.Node})
	if err := inf.SetTransform(slim); err != nil {
		return nil, fmt.Errorf("kube: %w", err)
	}
	return &Pods{inf: inf, node: cfg.Node, log: cfg.Logger.With("component", "kube")}, nil
}

// NodeSelector is the field selector of the pods of node.
func NodeSelector(node string) string {
	return fields.OneTermEqualSelector("spec.nodeName", node).String()
}

func podUIDs(obj any) ([]string, error) {
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return nil, nil
	}
	uids := []string{string(p.UID)}
	if m := p.Annotations[mirrorAnnotation]; m != "" && m != string(p.UID) {
		uids = append(uids, m)
	}
	return uids, nil
}

// Run lists and watches the node's pods until ctx is done, retrying (with
// client-go's backoff) while the API server does not answer. client-go's own
// log lines go to the Logger at debug level: Run's caller reports whether
// the cache synced (WaitForSync).
func (p *Pods) Run(ctx context.Context) {
	ctx = klog.NewContext(ctx, debugLogger(p.log))
	p.inf.RunWithContext(ctx)
}

// WaitForSync waits until the first list of the pods is in the cache, at
// most timeout; it reports whether it is. On timeout it logs one warning:
// the agent runs without pod names until the API server answers, and then
// gets them without a restart.
func (p *Pods) WaitForSync(ctx context.Context, timeout time.Duration) bool {
	start := time.Now()
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if cache.WaitForCacheSync(wctx.Done(), p.inf.HasSynced) {
		p.log.Info("pods of this node listed", "node", p.node, "pods", len(p.inf.GetStore().ListKeys()),
			"duration", time.Since(start).Round(time.Millisecond))
		return true
	}
	if ctx.Err() != nil {
		return false // stopping
	}
	p.log.Warn("the Kubernetes API server did not list this node's pods in time: running without pod names until it does",
		"node", p.node, "waited", timeout, "check", "the API server's reachability and the ClusterRole (pods: get, list, watch)")
	return false
}

// Lookup names the pod of podUID and, when containerID (bare hex, as in the
// cgroup) is one of its containers', the container. ok is false when the
// pod is not in the cache (not on this node, or not seen yet). The Labels
// map is the cache's own (not copied).
func (p *Pods) Lookup(podUID, containerID string) (model.Pod, bool) {
	pod := p.get(podUID)
	if pod == nil {
		return model.Pod{}, false
	}
	return model.Pod{Name: pod.Name, Namespace: pod.Namespace, Container: containerName(pod, containerID), Ignored: ignored(pod),
		Labels: pod.Labels, Owner: owner(pod)}, true
}

// objectUID is the API object's UID of the pod whose cgroup has podUID: the
// same, except for static pods (their mirror pod's UID).
func (p *Pods) objectUID(podUID string) (string, bool) {
	pod := p.get(podUID)
	if pod == nil {
		return "", false
	}
	return string(pod.UID), true
}

// get returns the cached pod of a cgroup's pod UID, nil if none.
func (p *Pods) get(podUID string) *corev1.Pod {
	objs, err := p.inf.GetIndexer().ByIndex(uidIndex, podUID)
	if err != nil || len(objs) == 0 {
		return nil
	}
	pod, _ := objs[0].(*corev1.Pod)
	return pod
}
