package probe

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/memsight/memsight/pkg/testutil"
)

// TestDefaultSetAttachesNothing: the default probe set (no Trace group)
// attaches no uprobe at all to a Go executable in which every probe point
// was located, so nothing fires per object (SetFinalizer, queuefinalizer,
// a finalizer or cleanup call, AddCleanup's queueing) nor per GC cycle;
// the per-object points attach only with Trace.Finalizers and the per-cycle
// ones only with Trace.GC.
func TestDefaultSetAttachesNothing(t *testing.T) {
	p := newProbes(t)
	for _, v := range testutil.Matrix(testutil.Default, testutil.PIE) {
		t.Run(v.String(), func(t *testing.T) {
			exe, b := finslowTarget(t, v)
			tg := testutil.StartTarget(t, exe, "-n", "60", "-c", "40", "-rounds", "3")
			tg.WaitLine(t, "READY ", 10*time.Second)
			for _, name := range append(append([]string{}, FinalizerPoints...), GCPoints...) {
				if why := b.Probes.Missing[name]; why != "" {
					t.Fatalf("%s not located (%s): the test needs every point", name, why)
				}
			}
			base := targetFor(t, b, exe, tg.Pid)
			for _, tc := range []struct {
				trace      Trace
				want, deny []string
			}{
				{Trace{}, nil, append(append([]string{}, FinalizerPoints...), GCPoints...)},
				{Trace{Finalizers: true}, FinalizerPoints, GCPoints},
				{Trace{GC: true}, GCPoints, FinalizerPoints},
			} {
				tgt := base
				tgt.Trace = tc.trace
				a, err := p.Attach(tgt)
				if err != nil {
					t.Fatal(err)
				}
				var names []string
				for _, pt := range a.Points() {
					names = append(names, strings.TrimSuffix(pt, ".resume"))
				}
				if err := a.Close(); err != nil {
					t.Fatal(err)
				}
				if tc.want == nil && len(names) != 0 {
					t.Errorf("trace %+v: attached %v, want nothing", tc.trace, names)
				}
				for _, n := range tc.want {
					if !slices.Contains(names, n) {
						t.Errorf("trace %+v: %s not attached (attached %v)", tc.trace, n, names)
					}
				}
				for _, n := range tc.deny {
					if slices.Contains(names, n) {
						t.Errorf("trace %+v: %s attached", tc.trace, n)
					}
				}
				t.Logf("trace %+v: %d probes %v", tc.trace, len(names), names)
			}
		})
	}
}
