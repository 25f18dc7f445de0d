package alerts_test

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/agentscope/agentscope/alerts"
)

func TestSignVerify(t *testing.T) {
	const secret = "whsec_0123456789abcdef"
	body := []byte(`{"id":"alert-1"}`)
	now := time.Now()
	ts, sig := alerts.Sign(secret, now, body)
	if ts != strconv.FormatInt(now.Unix(), 10) {
		t.Errorf("timestamp %s", ts)
	}
	if err := alerts.Verify(secret, ts, body, sig, time.Minute); err != nil {
		t.Fatalf("a genuine delivery fails: %v", err)
	}
	oldTS, oldSig := alerts.Sign(secret, now.Add(-10*time.Minute), body)
	futureTS, futureSig := alerts.Sign(secret, now.Add(10*time.Minute), body)
	for _, c := range []struct {
		name            string
		secret, ts, sig string
		body            []byte
		skew            time.Duration
	}{
		{"other secret", "whsec_other-secret-000", ts, sig, body, time.Minute},
		{"tampered body", secret, ts, sig, []byte(`{"id":"alert-2"}`), time.Minute},
		{"tampered timestamp", secret, strconv.FormatInt(now.Unix()+1, 10), sig, body, time.Minute},
		{"old", secret, oldTS, oldSig, body, 0}, // the default skew is 5 minutes
		{"future", secret, futureTS, futureSig, body, 5 * time.Minute},
		{"no prefix", secret, ts, sig[len("sha256="):], body, time.Minute},
		{"not hex", secret, ts, "sha256=zz", body, time.Minute},
		{"short digest", secret, ts, sig[:20], body, time.Minute},
		{"empty signature", secret, ts, "", body, time.Minute},
		{"empty timestamp", secret, "", sig, body, time.Minute},
		{"timestamp not a number", secret, "soon", sig, body, time.Minute},
		{"huge timestamp", secret, "9223372036854775807", sig, body, time.Minute},
	} {
		if err := alerts.Verify(c.secret, c.ts, c.body, c.sig, c.skew); !errors.Is(err, alerts.ErrInvalidSignature) {
			t.Errorf("%s: %v, want ErrInvalidSignature", c.name, err)
		}
	}
}

func FuzzVerify(f *testing.F) {
	const secret = "whsec_fuzz-secret-0123"
	now := time.Now()
	ts, sig := alerts.Sign(secret, now, []byte("{}"))
	f.Add(ts, []byte("{}"), sig)
	f.Add("-1", []byte(""), "sha256=")
	f.Add("99999999999999999999", []byte("x"), "sha256=00")
	f.Fuzz(func(t *testing.T, ts string, body []byte, sig string) {
		err := alerts.Verify(secret, ts, body, sig, time.Hour)
		if err == nil {
			// Only a correct signature may pass.
			if _, want := alerts.Sign(secret, time.Unix(mustParse(t, ts), 0), body); !strings.EqualFold(want, sig) {
				t.Fatalf("accepted a wrong signature %q for %q", sig, ts)
			}
		} else if !errors.Is(err, alerts.ErrInvalidSignature) {
			t.Fatalf("error not wrapping ErrInvalidSignature: %v", err)
		}
	})
}

func mustParse(t *testing.T, s string) int64 {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		t.Fatalf("accepted timestamp %q: %v", s, err)
	}
	return n
}
