package agentscope

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"reflect"
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

// maxUSDLiteral and maxUSDExponent bound what ParseUSD reads; any amount
// that fits in USD is far inside them.
const (
	maxUSDLiteral  = 64
	maxUSDExponent = 40
)

// ParseUSD parses a decimal literal (as JSON numbers are written, exponents
// allowed) exactly. It rejects values that are negative, not finite, or more
// precise than one nano-dollar, instead of rounding them.
func ParseUSD(s string) (USD, error) {
	s = strings.TrimSpace(s)
	if len(s) > maxUSDLiteral {
		return 0, fmt.Errorf("a %d-character number is too long for an amount (at most %d)", len(s), maxUSDLiteral)
	}
	if !isDecimal(s) {
		return 0, fmt.Errorf("%q is not a decimal number", s)
	}
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		// big.Rat would compute 10^exp exactly: a million-digit exponent
		// costs tens of milliseconds, per event.
		exp, err := strconv.Atoi(s[i+1:])
		if err != nil || exp > maxUSDExponent || exp < -maxUSDExponent {
			return 0, fmt.Errorf("%q has an exponent out of range (at most ±%d)", s, maxUSDExponent)
		}
	}
	r, ok := new(big.Rat).SetString(s)
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

// isDecimal reports whether s is a decimal literal as JSON writes numbers,
// with an optional leading '+' or '-' and leading zeros allowed:
// big.Rat alone would also take "1/3", "0x10" and "1_000".
func isDecimal(s string) bool {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits := func() int {
		start := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		return i - start
	}
	n := digits()
	if i < len(s) && s[i] == '.' {
		i++
		n += digits()
	}
	if n == 0 {
		return false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(s)
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
	if t := bytes.TrimSpace(b); len(t) > 0 && (t[0] == '"' || t[0] == '{' || t[0] == '[' || t[0] == 't' || t[0] == 'f') {
		// A type error, which encoding/json names the field of.
		kind := map[byte]string{'"': "string", '{': "object", '[': "array", 't': "bool", 'f': "bool"}[t[0]]
		return &json.UnmarshalTypeError{Value: kind, Type: reflect.TypeFor[USD]()}
	}
	v, err := ParseUSD(string(b))
	if err != nil {
		return err
	}
	*u = v
	return nil
}
