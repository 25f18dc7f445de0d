package agentscope

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// TestIDPatternsMatchRegexps holds the hand-written id matchers to the
// regular expressions they stand for.
func TestIDPatternsMatchRegexps(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	const alphabet = "aZ09_-.:/ é\x00\xff"
	for _, p := range []*idPattern{sessionIDPattern, eventIDPattern, agentNamePattern, attrKeyPattern, orgIDPattern} {
		cases := []string{"", "a", "_", "-", ".", "0", strings.Repeat("a", 63), strings.Repeat("a", 64), strings.Repeat("a", 65),
			strings.Repeat("b", 127), strings.Repeat("b", 128), strings.Repeat("b", 129), "a\n", "é"}
		for range 5000 {
			var b strings.Builder
			n := r.IntN(4)
			if r.IntN(10) == 0 {
				n = 60 + r.IntN(72)
			}
			for range n {
				b.WriteByte(alphabet[r.IntN(len(alphabet))])
			}
			cases = append(cases, b.String())
		}
		for _, s := range cases {
			if got, want := p.MatchString(s), p.re.MatchString(s); got != want {
				t.Errorf("%s: %q matches %v, the regexp says %v", p.re, s, got, want)
			}
		}
	}
}
