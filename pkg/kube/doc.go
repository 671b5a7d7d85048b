// Package kube joins memsight's processes to Kubernetes: Pods names the pod,
// namespace and container of a process from the pod UID and container ID of
// its cgroup (pkg/process), through a pod informer restricted to this node
// (field selector spec.nodeName), and reads the opt-out annotation
// memsight.io/ignore and the pod's labels (for the agent's pod selector); Events posts a core/v1 Event on the pod when a finding
// fires (once per finding until it resolves).
//
// It talks to the API server through API, a small REST client that knows
// only the core/v1 types (NewAPI): the full client-go clientset would register
// every API group's types at start, doubling the binary and adding to the
// agent's heap. Tests use client-go's fake clientset through the same
// interface.
//
// Lifetimes: run Pods.Run and Events.Run with a context; both stop when it
// is done. Nothing here blocks the agent: an unreachable API server means no
// pod names (logged once) until it answers.
//
// What kube does not do: attach probes or read process memory (it only sees
// a model.Snapshot), or decide what is watched (pkg/agent applies Ignored and
// its filters).
package kube
