package agentscope

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
)

// USD is an exact amount of US dollars held as integer nano-dollars
// (1e-9 USD). A price of $0.10 per million tokens is 100 nano-dollars
// per token, so per-call costs are computed in a wider type and rounded once;
// sums of recorded amounts are always exact.
type USD int64

// NanosPerUSD is the number of nano-dollars in one dollar.
const NanosPerUSD = 1_000_000_000

var nanosRat = new(big.Rat).SetInt64(NanosPerUSD)

// ParseUSD parses a decimal literal (as JSON numbers are written, exponents
// allowed) exactly. It rejects values that are negative, not finite, or more
// precise than one nano-dollar, instead of rounding them.
func ParseUSD(s string) (USD, error) {
	r, ok := new(big.Rat).SetString(strings.TrimSpace(s))
	if !ok {
		return 0, fmt.Errorf("%q is not a decimal number", s)
	}
	if r.Sign() < 0 {
		return 0, fmt.Errorf("must be >= 0, got %s", s)
	}
	r.Mul(r, nanosRat)
	if !r.IsInt() {
		return 0, fmt.Errorf("%s has more precision than 1e-9 USD", s)
	}
	if !r.Num().IsInt64() {
		return 0, fmt.Errorf("%s is too large", s)
	}
	return USD(r.Num().Int64()), nil
}

// AddUSD returns a+b and true, or 0 and false when the sum of two
// non-negative amounts would not fit (it never wraps).
func AddUSD(a, b USD) (USD, bool) {
	if a < 0 || b < 0 || a > math.MaxInt64-b {
		return 0, false
	}
	return a + b, true
}

// String formats the amount as a plain decimal with no trailing zeros, e.g.
// "0.0023" or "12".
func (u USD) String() string {
	neg := u < 0
	n := int64(u)
	if neg {
		n = -n
	}
	whole, frac := n/NanosPerUSD, n%NanosPerUSD
	s := strconv.FormatInt(whole, 10)
	if frac != 0 {
		f := strings.TrimRight(fmt.Sprintf("%09d", frac), "0")
		s += "." + f
	}
	if neg {
		s = "-" + s
	}
	return s
}

// Float returns the amount as a float64, for display and statistics only.
func (u USD) Float() float64 { return float64(u) / NanosPerUSD }

// MarshalJSON writes the amount as an exact JSON number.
func (u USD) MarshalJSON() ([]byte, error) { return []byte(u.String()), nil }

// UnmarshalJSON reads a JSON number exactly.
func (u *USD) UnmarshalJSON(b []byte) error {
	v, err := ParseUSD(string(b))
	if err != nil {
		return err
	}
	*u = v
	return nil
}
