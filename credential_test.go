package agentscope_test

import (
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/agentscope/agentscope"
)

func TestCredentialRoundTrip(t *testing.T) {
	for _, kind := range agentscope.CredentialKinds {
		c := agentscope.NewCredential(kind)
		text := c.Reveal()
		if len(text) != agentscope.CredentialLen || !strings.HasPrefix(text, string(kind)+"_"+c.Handle+"_") || c.Prefix() != string(kind)+"_"+c.Handle {
			t.Fatalf("%s: %q (prefix %q)", kind, text, c.Prefix())
		}
		got, err := agentscope.ParseCredential(text)
		if err != nil || got.Reveal() != text || got.Kind != kind || !got.Matches(c.Hash()) {
			t.Fatalf("ParseCredential(%q) = %v, %v", text, got, err)
		}
		other := agentscope.NewCredential(kind)
		if other.Matches(c.Hash()) || other.Handle == c.Handle {
			t.Fatal("two fresh credentials alike")
		}
	}
}

// TestCredentialNeverPrinted: every way a credential might be printed or
// logged by mistake shows its prefix and not its secret.
func TestCredentialNeverPrinted(t *testing.T) {
	c := agentscope.NewCredential(agentscope.CredentialAPIKey)
	secret := c.Reveal()[len(c.Prefix())+1:]
	var log strings.Builder
	slog.New(slog.NewTextHandler(&log, nil)).Info("key", "key", c)
	for _, s := range []string{fmt.Sprint(c), fmt.Sprintf("%v %+v %#v %s", c, c, c, c), log.String(), c.Hash()} {
		if strings.Contains(s, secret) || strings.Contains(s, secret[:16]) {
			t.Errorf("printed the secret: %s", s)
		}
	}
	if !strings.Contains(fmt.Sprint(c), c.Prefix()) {
		t.Errorf("%v does not show the prefix", c)
	}
}

func TestParseCredentialStrict(t *testing.T) {
	good := agentscope.NewCredential(agentscope.CredentialAPIKey).Reveal()
	for name, s := range map[string]string{
		"empty":          "",
		"instance token": "as_" + strings.Repeat("A", 32),
		"unknown kind":   "abc" + good[3:],
		"upper case":     strings.ToUpper(good),
		"upper secret":   good[:20] + "A" + good[21:],
		"upper handle":   good[:5] + "A" + good[6:],
		"no separator":   good[:3] + "-" + good[4:],
		"second sep":     good[:16] + "-" + good[17:],
		"short":          good[:len(good)-1],
		"long":           good + "0",
		"space":          " " + good[1:],
		"trailing nl":    good[:len(good)-1] + "\n",
		"non-hex":        good[:len(good)-1] + "g",
	} {
		_, err := agentscope.ParseCredential(s)
		if err == nil {
			t.Errorf("%s: %q accepted", name, s)
			continue
		}
		if agentscope.ErrorCode(err) != agentscope.EUNAUTHORIZED || (len(s) > 8 && strings.Contains(err.Error(), s[4:])) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func FuzzParseCredential(f *testing.F) {
	for _, kind := range agentscope.CredentialKinds {
		f.Add(agentscope.NewCredential(kind).Reveal())
	}
	f.Add("asz" + agentscope.NewCredential(agentscope.CredentialAccessToken).Reveal()[3:])
	f.Add("as_" + strings.Repeat("x", 32))
	f.Add("ask__" + strings.Repeat("0", 75))
	f.Add(strings.Repeat("_", agentscope.CredentialLen))
	f.Fuzz(func(t *testing.T, s string) {
		c, err := agentscope.ParseCredential(s)
		if err != nil {
			// The error never repeats the text (which may be a mistyped
			// secret); short texts may occur in the message by chance.
			if agentscope.ErrorCode(err) != agentscope.EUNAUTHORIZED || (len(s) >= 12 && strings.Contains(err.Error(), s)) {
				t.Fatalf("ParseCredential(%q): %v", s, err)
			}
			return
		}
		// One spelling per credential: what parses is exactly what it
		// prints, and its hash matches only itself.
		if c.Reveal() != s || !strings.HasPrefix(s, c.Prefix()+"_") || !c.Matches(c.Hash()) {
			t.Fatalf("ParseCredential(%q) = %q (prefix %q)", s, c.Reveal(), c.Prefix())
		}
		if c.Matches(agentscope.NewCredential(c.Kind).Hash()) {
			t.Fatalf("%q matches a fresh credential's hash", s)
		}
	})
}
