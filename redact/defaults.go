package redact

import (
	"regexp"
	"strings"
)

// defaultRules are the rules on unless turned off: provider API keys,
// AgentScope's own credentials, bearer tokens and card numbers.
func defaultRules() []patternRule {
	contains := func(lits ...string) func(string) bool {
		return func(s string) bool {
			for _, l := range lits {
				if strings.Contains(s, l) {
					return true
				}
			}
			return false
		}
	}
	rule := func(name, pattern string, needs byteClasses, maybe, check func(string) bool) patternRule {
		return patternRule{name: name, marker: Marker(name), re: regexp.MustCompile(pattern), needs: needs, maybe: maybe, check: check}
	}
	// Anthropic's keys also start with sk-: their rule comes first so the
	// marker names the right provider. Each rule's needs are bytes its
	// maybe's literals hold (TestNeeds).
	return []patternRule{
		rule("anthropic-key", `sk-ant-[A-Za-z0-9_-]{20,}`, hasS|hasK|hasDash, contains("sk-ant-"), nil),
		rule("openai-key", `sk-[A-Za-z0-9_-]{20,}`, hasS|hasK|hasDash, contains("sk-"), nil),
		rule("aws-access-key-id", `\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b`, hasA, contains("AKIA", "ASIA", "ABIA", "ACCA"), nil),
		rule("github-token", `\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})`, hasUnderscore, contains("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"), nil),
		rule("slack-token", `\bxox[abposr]-[A-Za-z0-9-]{10,}`, hasX|hasO, contains("xox"), nil),
		rule("agentscope-credential", `\bas[a-z]_[0-9a-f]{12}_[0-9a-f]{64}\b`, hasS|hasUnderscore, maybeCredential, nil),
		rule("bearer-token", `(?i)\bbearer\s+[A-Za-z0-9._~+/-]{8,}=*`, hasB, maybeBearer, nil),
		rule("card-number", `\b\d(?:[ -]?\d){12,18}\b`, hasDigit, maybeCard, luhnCard),
	}
}

// DefaultNames lists the default rules' names.
func DefaultNames() []string {
	var names []string
	for _, r := range defaultRules() {
		names = append(names, r.name)
	}
	return names
}

// maybeCredential passes strings with "as?_" somewhere (the start of
// ask_..., asa_..., asr_...).
func maybeCredential(s string) bool {
	for i := 3; i < len(s); i++ {
		if s[i] == '_' && s[i-3] == 'a' && s[i-2] == 's' {
			return true
		}
	}
	return false
}

// maybeBearer passes strings containing "bearer" in any case.
func maybeBearer(s string) bool {
	for i := 0; i+6 <= len(s); i++ {
		if s[i]|0x20 == 'b' && strings.EqualFold(s[i:i+6], "bearer") {
			return true
		}
	}
	return false
}

// maybeCard passes strings with at least 13 digits.
func maybeCard(s string) bool {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i]-'0' <= 9 {
			if n++; n >= 13 {
				return true
			}
		}
	}
	return false
}

// luhnCard reports whether m, digits with optional single spaces or
// dashes between them, is 13 to 19 digits passing the Luhn check.
func luhnCard(m string) bool {
	sum, n := 0, 0
	for i := len(m) - 1; i >= 0; i-- {
		c := m[i]
		if c == ' ' || c == '-' {
			continue
		}
		d := int(c - '0')
		if n%2 == 1 {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
		n++
	}
	return n >= 13 && n <= 19 && sum%10 == 0
}
