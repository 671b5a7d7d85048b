package kube

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// API is the part of the Kubernetes API memsight uses: list and watch pods,
// create events. NewAPI returns the real one; tests adapt client-go's fake
// clientset. It may also implement IsWatchListSemanticsUnSupported() bool
// (client-go's fake clientsets do) to make the informer list then watch.
type API interface {
	ListPods(ctx context.Context, opts metav1.ListOptions) (*corev1.PodList, error)
	WatchPods(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error)
	CreateEvent(ctx context.Context, ev *corev1.Event) (*corev1.Event, error)
}

// InCluster reports whether memsight runs in a Kubernetes pod (the
// KUBERNETES_SERVICE_HOST variable every pod gets).
func InCluster() bool { return os.Getenv("KUBERNETES_SERVICE_HOST") != "" }

// RESTConfig returns the API server's address and credentials: from the
// kubeconfig file when kubeconfig is set, else the pod's service account.
func RESTConfig(kubeconfig string) (*rest.Config, error) {
	if kubeconfig != "" {
		c, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
		if err != nil {
			return nil, fmt.Errorf("--kubeconfig %s: %w", kubeconfig, err)
		}
		return c, nil
	}
	c, err := rest.InClusterConfig()
	if err != nil {
		return nil, fmt.Errorf("in-cluster Kubernetes config: %w (outside a pod, pass --kubeconfig or --kubernetes=off)", err)
	}
	return c, nil
}

// restAPI is API over a REST client that knows only core/v1.
type restAPI struct {
	rc     *rest.RESTClient
	params runtime.ParameterCodec
}

// NewAPI returns an API for the server of cfg, which it copies. Requests
// are rate limited to 5 per second (bursts of 10) unless cfg says otherwise.
func NewAPI(cfg *rest.Config) (API, error) {
	if cfg == nil {
		return nil, errors.New("kube: no REST config")
	}
	scheme := runtime.NewScheme()
	if err := corev1.AddToScheme(scheme); err != nil {
		return nil, fmt.Errorf("kube: registering core/v1: %w", err)
	}
	metav1.AddToGroupVersion(scheme, corev1.SchemeGroupVersion)
	c := rest.CopyConfig(cfg)
	c.GroupVersion = &corev1.SchemeGroupVersion
	c.APIPath = "/api"
	c.NegotiatedSerializer = serializer.NewCodecFactory(scheme).WithoutConversion()
	c.ContentType = runtime.ContentTypeJSON
	if c.UserAgent == "" {
		c.UserAgent = "memsight"
	}
	if c.QPS == 0 {
		c.QPS, c.Burst = 5, 10
	}
	rc, err := rest.RESTClientFor(c)
	if err != nil {
		return nil, fmt.Errorf("kube: REST client for %s: %w", cfg.Host, err)
	}
	return &restAPI{rc: rc, params: runtime.NewParameterCodec(scheme)}, nil
}

func (a *restAPI) ListPods(ctx context.Context, opts metav1.ListOptions) (*corev1.PodList, error) {
	var l corev1.PodList
	req := a.rc.Get().Resource("pods").VersionedParams(&opts, a.params)
	if opts.TimeoutSeconds != nil {
		req = req.Timeout(time.Duration(*opts.TimeoutSeconds) * time.Second)
	}
	return &l, req.Do(ctx).Into(&l)
}

func (a *restAPI) WatchPods(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
	opts.Watch = true
	req := a.rc.Get().Resource("pods").VersionedParams(&opts, a.params)
	if opts.TimeoutSeconds != nil {
		req = req.Timeout(time.Duration(*opts.TimeoutSeconds) * time.Second)
	}
	return req.Watch(ctx)
}

func (a *restAPI) CreateEvent(ctx context.Context, ev *corev1.Event) (*corev1.Event, error) {
	var out corev1.Event
	return &out, a.rc.Post().Namespace(ev.Namespace).Resource("events").Body(ev).Do(ctx).Into(&out)
}
