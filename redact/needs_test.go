package redact

import "testing"

// needsSeeds are strings each default rule matches, and near misses.
var needsSeeds = []string{
	"sk-ant-api03-abcdefghijklmnopqrstuvwxyz", "key sk-abcdefghijklmnopqrstuvwx", "AKIAIOSFODNN7EXAMPLE", "ASIA0123456789ABCDEF",
	"ghp_abcdefghijklmnopqrstuvwxyz0123456789", "github_pat_abcdefghijklmnopqrstuv", "xoxb-1234567890", "BEARER abcdefghij",
	"Authorization: Bearer abc.def.ghi", "4111 1111 1111 1111", "4111-1111-1111-1111", "eu-west-1", "",
	"ask_0123456789ab_" + "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
}

// FuzzNeeds: a default rule's pattern matches only strings its maybe
// passes, and maybe passes only strings holding every byte class the rule
// needs, so skipping a rule for a class its string lacks, or for its
// maybe, never leaves a secret in place.
func FuzzNeeds(f *testing.F) {
	for _, s := range needsSeeds {
		f.Add(s)
	}
	rules := defaultRules()
	f.Fuzz(func(t *testing.T, s string) {
		have := classes(s)
		for _, p := range rules {
			if p.re.MatchString(s) && !p.maybe(s) {
				t.Errorf("%s: the pattern matches %q, which maybe refuses", p.name, s)
			}
			if p.maybe(s) && have&p.needs != p.needs {
				t.Errorf("%s: maybe passes %q, which lacks classes %b of %b", p.name, s, p.needs&^have, p.needs)
			}
			if p.re.MatchString(s) && !p.mayMatch(s, have) {
				t.Errorf("%s: mayMatch refuses %q, which the pattern matches", p.name, s)
			}
		}
	})
}

// TestNeedsMatches: every seed a rule's pattern matches passes its
// mayMatch; the seeds cover every default rule.
func TestNeedsMatches(t *testing.T) {
	for _, p := range defaultRules() {
		matched := false
		for _, s := range needsSeeds {
			if !p.re.MatchString(s) {
				continue
			}
			matched = true
			if !p.mayMatch(s, classes(s)) {
				t.Errorf("%s: mayMatch refuses %q, which the pattern matches", p.name, s)
			}
		}
		if !matched {
			t.Errorf("%s: no seed matches its pattern", p.name)
		}
	}
}
