package splunkbridge

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestJudge(t *testing.T) {
	for _, tc := range []struct {
		status, code, invalid int
		want                  verdict
		reason                string
	}{
		{200, 0, -1, verdictDelivered, ""},
		{200, -1, -1, verdictRetry, "unexpected"},
		{200, 17, -1, verdictRetry, "unexpected"},
		{403, 1, -1, verdictPause, "disabled"},
		{401, 2, -1, verdictPause, "did not receive the token"},
		{401, 3, -1, verdictPause, "did not receive the token"},
		{403, 4, -1, verdictPause, "does not know the token"},
		{403, -1, -1, verdictPause, "refused the token"},
		{400, 5, -1, verdictRetry, ""},
		{400, 6, 3, verdictPartial, ""},
		{400, 6, 10, verdictIsolate, ""}, // number out of range
		{400, 6, -1, verdictIsolate, ""},
		{400, 7, 0, verdictPause, EnvIndex},
		{400, 10, -1, verdictPause, EnvHECAck},
		{400, 11, -1, verdictPause, EnvHECAck},
		{400, 12, 0, verdictPartial, ""},
		{400, 13, 9, verdictPartial, ""},
		{400, 14, -1, verdictPause, EnvHECAck},
		{400, 15, 2, verdictPartial, ""},
		{400, 16, -1, verdictPause, EnvHECToken},
		{413, -1, -1, verdictIsolate, ""},
		{429, 26, -1, verdictRetry, ""},
		{500, 8, -1, verdictRetry, ""},
		{503, 9, -1, verdictRetry, ""},
		{503, 18, -1, verdictRetry, ""},
		{503, 19, -1, verdictRetry, ""},
		{503, 20, -1, verdictRetry, ""},
		{503, 23, -1, verdictRetry, ""},
		{404, -1, -1, verdictRetry, ""},
		{502, -1, -1, verdictRetry, ""},
		{418, -1, -1, verdictRetry, ""},
	} {
		r := hecReply{Status: tc.status, Code: tc.code, InvalidEventNumber: tc.invalid, AckID: -1, Text: "t"}
		got, reason := judge(r, 10)
		if got != tc.want || !strings.Contains(reason, tc.reason) {
			t.Errorf("status %d code %d event %d: verdict %d %q, want %d containing %q", tc.status, tc.code, tc.invalid, got, reason, tc.want, tc.reason)
		}
	}
}

func TestDecodeHECReply(t *testing.T) {
	now := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	h := http.Header{"Retry-After": {"7"}}
	r := decodeHECReply(400, h, []byte(`{"text":"Invalid data format","code":6,"invalid-event-number":3}`), now)
	if r.Code != 6 || r.InvalidEventNumber != 3 || r.Text != "Invalid data format" || r.RetryAfter != 7*time.Second || r.AckID != -1 {
		t.Errorf("decoded %+v", r)
	}
	r = decodeHECReply(200, http.Header{}, []byte(`{"text":"Success","code":0,"ackId":12}`), now)
	if r.Code != 0 || r.AckID != 12 {
		t.Errorf("ack reply %+v", r)
	}
	r = decodeHECReply(502, http.Header{"Retry-After": {now.Add(90 * time.Second).Format(http.TimeFormat)}}, []byte("<html>Bad Gateway</html>"), now)
	if r.Code != -1 || r.Text != "<html>Bad Gateway</html>" || r.RetryAfter != 90*time.Second {
		t.Errorf("proxy reply %+v", r)
	}
	for _, v := range []string{"-3", "soon", "0", ""} {
		if d := parseRetryAfter(v, now); d != 0 {
			t.Errorf("Retry-After %q = %s", v, d)
		}
	}
	if d := parseRetryAfter("999999999", now); d != maxRetryAfter {
		t.Errorf("huge Retry-After = %s, want the cap", d)
	}
}

func FuzzDecodeHECReply(f *testing.F) {
	f.Add(200, []byte(`{"text":"Success","code":0}`), "")
	f.Add(400, []byte(`{"text":"Invalid data format","code":6,"invalid-event-number":2}`), "")
	f.Add(503, []byte(`{"text":"Server is busy","code":9}`), "5")
	f.Add(429, []byte(`garbage`), "Wed, 21 Oct 2015 07:28:00 GMT")
	f.Add(400, []byte(`{"code":1e99,"invalid-event-number":-1,"ackId":"x"}`), "-1")
	f.Fuzz(func(t *testing.T, status int, body []byte, retryAfter string) {
		now := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
		r := decodeHECReply(status, http.Header{"Retry-After": {retryAfter}}, body, now)
		if r.RetryAfter < 0 || r.RetryAfter > maxRetryAfter {
			t.Fatalf("Retry-After %q decoded to %s", retryAfter, r.RetryAfter)
		}
		if r.Code < -1 || r.InvalidEventNumber < -1 || r.AckID < -1 {
			t.Fatalf("negative numbers leaked: %+v", r)
		}
		if len(r.Text) > 200 {
			t.Fatalf("text not bounded: %d bytes", len(r.Text))
		}
		for _, n := range []int{1, 2, 500} {
			v, _ := judge(r, n)
			if v == verdictPartial && (r.InvalidEventNumber < 0 || r.InvalidEventNumber >= n) {
				t.Fatalf("partial verdict with event %d of %d", r.InvalidEventNumber, n)
			}
			if v == verdictDelivered && (r.Status != 200 || r.Code != 0) {
				t.Fatalf("delivered verdict for %+v", r)
			}
		}
		_ = r.String()
	})
}

func TestBackoff(t *testing.T) {
	b := backoff{min: time.Second, max: 30 * time.Second, rand: func() float64 { return 0.999999 }}
	lo := backoff{min: time.Second, max: 30 * time.Second, rand: func() float64 { return 0 }}
	for n, want := range map[int]time.Duration{1: time.Second, 2: 2 * time.Second, 3: 4 * time.Second, 5: 16 * time.Second, 6: 30 * time.Second, 60: 30 * time.Second} {
		if got := lo.delay(n); got != want/2 {
			t.Errorf("delay(%d) at least %s, want %s", n, got, want/2)
		}
		if got := b.delay(n); got > want || got < want-want/1000 {
			t.Errorf("delay(%d) at most %s, want about %s", n, got, want)
		}
	}
}
