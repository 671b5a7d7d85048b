// Package testutil builds and runs the real Go programs memsight's tests observe
// (testdata/targets/<name>), across toolchains and build modes, and holds the
// one place where a BPF test may be skipped (MEMSIGHT_SKIP_BPF=1).
package testutil
