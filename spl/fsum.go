package spl

import "math"

// exactSum adds floats without rounding error (Shewchuk's algorithm, as
// Python's math.fsum): the partials hold the exact sum, and value rounds
// it once. The result does not depend on the order of the additions, so
// sum, avg and stdev give the same bits however the store orders events.
type exactSum struct {
	partials []float64
	// naive is the plain running sum, answered instead when the exact sum
	// overflowed.
	naive    float64
	overflow bool
}

func (s *exactSum) add(x float64) {
	s.naive += x
	s.addExact(x)
}

// addExact adds x to the partials only.
func (s *exactSum) addExact(x float64) {
	if s.overflow {
		return
	}
	i := 0
	for _, y := range s.partials {
		if math.Abs(x) < math.Abs(y) {
			x, y = y, x
		}
		hi := x + y
		lo := y - (hi - x)
		if lo != 0 {
			s.partials[i] = lo
			i++
		}
		x = hi
	}
	if math.IsInf(x, 0) || math.IsNaN(x) {
		s.overflow = true
		return
	}
	s.partials = append(s.partials[:i], x)
}

// merge adds o's sum.
func (s *exactSum) merge(o *exactSum) {
	if o.overflow {
		s.overflow = true
	}
	s.naive += o.naive
	for _, p := range o.partials {
		s.addExact(p)
	}
}

// value returns the sum correctly rounded (ties to even).
func (s *exactSum) value() float64 {
	if s.overflow {
		return s.naive
	}
	p := s.partials
	n := len(p)
	if n == 0 {
		return 0
	}
	n--
	hi, lo := p[n], 0.0
	for n > 0 {
		x, y := hi, p[n-1]
		n--
		hi = x + y
		lo = y - (hi - x)
		if lo != 0 {
			break
		}
	}
	// The partials below decide the rounding of hi+lo when lo is exactly
	// half an ulp.
	if n > 0 && ((lo < 0 && p[n-1] < 0) || (lo > 0 && p[n-1] > 0)) {
		y := lo * 2
		x := hi + y
		if y == x-hi {
			hi = x
		}
	}
	return hi
}
