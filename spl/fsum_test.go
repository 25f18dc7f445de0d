package spl

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

// exactRounded is the sum of xs computed with big.Float and rounded once.
func exactRounded(xs []float64) float64 {
	acc := new(big.Float).SetPrec(4096)
	for _, x := range xs {
		acc.Add(acc, new(big.Float).SetPrec(4096).SetFloat64(x))
	}
	f, _ := acc.Float64()
	return f
}

func TestExactSumIsCorrectlyRoundedInAnyOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	cases := [][]float64{
		{0.1, 0.2, 0.3},
		{1e16, 1, -1e16},
		{1e100, 1, -1e100, 1e-100},
		{1, 1e-16, 1e-16},             // a naive left fold rounds away both small terms
		{1, math.Nextafter(1, 2) - 1}, // half an ulp: ties to even
	}
	for range 50 {
		xs := make([]float64, 1+rng.IntN(300))
		for i := range xs {
			xs[i] = (rng.Float64() - 0.5) * math.Pow(10, float64(rng.IntN(40)-20))
		}
		cases = append(cases, xs)
	}
	for i, xs := range cases {
		want := exactRounded(xs)
		for range 5 {
			var s exactSum
			for _, x := range xs {
				s.add(x)
			}
			if got := s.value(); got != want {
				t.Fatalf("case %d: sum %v, exact %v", i, got, want)
			}
			rng.Shuffle(len(xs), func(a, b int) { xs[a], xs[b] = xs[b], xs[a] })
		}
		// merging two halves gives the same bits
		var a, b exactSum
		for j, x := range xs {
			if j%2 == 0 {
				a.add(x)
			} else {
				b.add(x)
			}
		}
		a.merge(&b)
		if got := a.value(); got != want {
			t.Fatalf("case %d: merged sum %v, exact %v", i, got, want)
		}
	}
}

func TestExactSumOverflowFallsBackToInfinity(t *testing.T) {
	var s exactSum
	s.add(math.MaxFloat64)
	s.add(math.MaxFloat64)
	if v := s.value(); !math.IsInf(v, 1) {
		t.Fatalf("sum %v, want +Inf (answered as null by numVal)", v)
	}
}

func FuzzExactSum(f *testing.F) {
	f.Add(0.1, 0.2, 0.3, 1e16)
	f.Add(1.0, 1e-16, 1e-16, -1.0)
	f.Fuzz(func(t *testing.T, a, b, c, d float64) {
		xs := []float64{a, b, c, d}
		for _, x := range xs {
			if math.IsInf(x, 0) || math.IsNaN(x) || math.Abs(x) > 1e300 {
				return
			}
		}
		want := exactRounded(xs)
		for _, p := range [][]int{{0, 1, 2, 3}, {3, 2, 1, 0}, {2, 0, 3, 1}} {
			var s exactSum
			for _, i := range p {
				s.add(xs[i])
			}
			if got := s.value(); got != want {
				t.Fatalf("%v in order %v: %v, exact %v", xs, p, got, want)
			}
		}
	})
}
