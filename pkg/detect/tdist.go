package detect

import "math"

// studentQuantile returns the p quantile (0.5 < p < 1) of Student's t
// distribution with dof degrees of freedom (dof > 0, not necessarily an
// integer): the t with P(T ≤ t) = p. It is NaN for arguments outside these
// ranges.
//
// P(T > t) = I_x(dof/2, 1/2) / 2 with x = dof/(dof+t²), so the quantile is
// found by bisection on x, where the regularized incomplete beta function
// I is increasing.
func studentQuantile(p, dof float64) float64 {
	if !(p > 0.5 && p < 1) || !(dof > 0) || math.IsInf(dof, 0) {
		return math.NaN()
	}
	target := 2 * (1 - p)
	lo, hi := 0.0, 1.0 // I_lo(...) < target ≤ I_hi(...)
	for i := 0; i < 200 && hi-lo > 1e-300; i++ {
		mid := (lo + hi) / 2
		if mid == lo || mid == hi {
			break
		}
		if incBeta(dof/2, 0.5, mid) < target {
			lo = mid
		} else {
			hi = mid
		}
	}
	x := (lo + hi) / 2
	return math.Sqrt(dof * (1 - x) / x)
}

// incBeta is the regularized incomplete beta function I_x(a, b) for a, b > 0
// and 0 ≤ x ≤ 1, from its continued fraction (Lentz's method, as in
// Numerical Recipes' betai/betacf).
func incBeta(a, b, x float64) float64 {
	switch {
	case x <= 0:
		return 0
	case x >= 1:
		return 1
	}
	la, _ := math.Lgamma(a)
	lb, _ := math.Lgamma(b)
	lab, _ := math.Lgamma(a + b)
	front := math.Exp(lab - la - lb + a*math.Log(x) + b*math.Log1p(-x))
	if x < (a+1)/(a+b+2) {
		return front * betaFrac(a, b, x) / a
	}
	return 1 - front*betaFrac(b, a, 1-x)/b
}

// betaFrac evaluates the continued fraction of the incomplete beta function.
func betaFrac(a, b, x float64) float64 {
	const (
		eps  = 1e-15
		tiny = 1e-300
	)
	qab, qap, qam := a+b, a+1, a-1
	c, d := 1.0, 1-qab*x/qap
	if math.Abs(d) < tiny {
		d = tiny
	}
	d = 1 / d
	h := d
	// step applies one coefficient aa (Lentz's method) and returns the
	// factor it multiplies h by.
	step := func(aa float64) float64 {
		d = 1 + aa*d
		if math.Abs(d) < tiny {
			d = tiny
		}
		c = 1 + aa/c
		if math.Abs(c) < tiny {
			c = tiny
		}
		d = 1 / d
		return d * c
	}
	for m := 1; m <= 300; m++ {
		fm := float64(m)
		m2 := 2 * fm
		h *= step(fm * (b - fm) * x / ((qam + m2) * (a + m2)))
		del := step(-(a + fm) * (qab + fm) * x / ((a + m2) * (qap + m2)))
		h *= del
		if math.Abs(del-1) < eps {
			break
		}
	}
	return h
}
