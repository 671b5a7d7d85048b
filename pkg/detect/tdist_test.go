package detect

import (
	"math"
	"testing"
)

func TestStudentQuantile(t *testing.T) {
	cases := []struct{ p, dof, want, tol float64 }{
		// Closed forms: dof 1 is Cauchy, dof 2 has t = (2p-1)/sqrt(2p(1-p)).
		{0.995, 1, math.Tan(math.Pi * 0.495), 1e-9},
		{0.975, 1, math.Tan(math.Pi * 0.475), 1e-9},
		{0.995, 2, 0.99 / math.Sqrt(2*0.995*0.005), 1e-9},
		{0.9, 2, 0.8 / math.Sqrt(2*0.9*0.1), 1e-9},
		{0.75, 2, 0.5 / math.Sqrt(2*0.75*0.25), 1e-9},
		// Printed tables (3 decimals).
		{0.995, 5, 4.032, 1e-3},
		{0.995, 10, 3.169, 1e-3},
		{0.995, 30, 2.750, 1e-3},
		{0.975, 10, 2.228, 1e-3},
		{0.975, 120, 1.980, 1e-3},
		{0.9995, 20, 3.850, 1e-3},
		// Large dof: the normal quantile.
		{0.995, 1e7, 2.5758293, 1e-5},
		{0.975, 1e7, 1.9599640, 1e-5},
	}
	for _, c := range cases {
		if got := studentQuantile(c.p, c.dof); math.Abs(got-c.want) > c.tol {
			t.Errorf("t(%v, %v) = %.9f, want %.9f", c.p, c.dof, got, c.want)
		}
	}
	// Fractional dof lies between its integer neighbours.
	if a, b, c := studentQuantile(0.995, 3), studentQuantile(0.995, 3.5), studentQuantile(0.995, 4); !(a > b && b > c) {
		t.Errorf("t(0.995; 3, 3.5, 4) = %v, %v, %v: not decreasing", a, b, c)
	}
	for _, bad := range [][2]float64{{0.5, 10}, {1, 10}, {0.9, 0}, {0.9, -1}, {math.NaN(), 3}, {0.9, math.Inf(1)}} {
		if got := studentQuantile(bad[0], bad[1]); !math.IsNaN(got) {
			t.Errorf("t(%v, %v) = %v, want NaN", bad[0], bad[1], got)
		}
	}
}
