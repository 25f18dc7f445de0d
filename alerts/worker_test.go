package alerts_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/alerts"
	"github.com/agentscope/agentscope/internal/netguard"
)

// fakeRules is a RuleSource over a map of "org/id".
type fakeRules map[string]agentscope.AlertRule

func (f fakeRules) AlertRuleForDelivery(_ context.Context, orgID, id string) (agentscope.AlertRule, error) {
	r, ok := f[orgID+"/"+id]
	if !ok {
		return agentscope.AlertRule{}, agentscope.Errorf(agentscope.ENOTFOUND, "alert rule %q not found", id)
	}
	return r, nil
}

const token = "tokenXYZ"

func newJob(a alerts.Alert) *river.Job[alerts.DeliverArgs] {
	return &river.Job[alerts.DeliverArgs]{
		JobRow: &rivertype.JobRow{ID: 1, Attempt: 1, MaxAttempts: 5},
		Args:   alerts.DeliverArgs{AlertID: a.ID, Alert: a},
	}
}

// outcome classifies what a Work error tells River.
func outcome(err error) string {
	var cancel *river.JobCancelError
	switch {
	case err == nil:
		return "done"
	case errors.As(err, &cancel):
		return "cancel"
	}
	return "retry"
}

// attempt is what workOnce observed.
type attempt struct {
	outcome string // done, cancel or retry
	err     error
	worker  *alerts.Worker
	job     *river.Job[alerts.DeliverArgs]
	hits    *atomic.Int32 // requests the receiver got
}

// workOnce makes one attempt against a receiver served by handler.
// workOnce is work with the test receiver (on this machine) allowed,
// unless deps chose a network policy.
func workOnce(t *testing.T, deps alerts.Deps, handler http.HandlerFunc) attempt {
	t.Helper()
	if !deps.Network.AllowPrivate && len(deps.Network.Allow) == 0 {
		deps.Network.AllowPrivate = true
	}
	return work(t, deps, handler)
}

func work(t *testing.T, deps alerts.Deps, handler http.HandlerFunc) attempt {
	t.Helper()
	return workAt(t, deps, "", handler)
}

// workAt is work with the receiver's URL naming it by host (a name that
// resolves to this machine) instead of its literal address, when not "".
func workAt(t *testing.T, deps alerts.Deps, host string, handler http.HandlerFunc) attempt {
	t.Helper()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		handler(w, r)
	}))
	t.Cleanup(srv.Close)
	rule := sampleRule()
	rule.URL = srv.URL + "/services/T000/B000/" + token
	if host != "" {
		rule.URL = strings.Replace(rule.URL, "127.0.0.1", host, 1)
	}
	if deps.Rules == nil {
		deps.Rules = fakeRules{"org-a/ar-1": rule}
	}
	if deps.Backoff == nil {
		deps.Backoff = func(int) time.Duration { return time.Millisecond }
	}
	w, err := alerts.NewWorker(deps)
	if err != nil {
		t.Fatal(err)
	}
	job := newJob(alerts.NewAlert(rule, sampleSignal(), at))
	err = w.Work(context.Background(), job)
	if err != nil && (strings.Contains(err.Error(), token) || strings.Contains(err.Error(), rule.Secret)) {
		t.Errorf("the error shows the URL's token or the secret: %v", err)
	}
	return attempt{outcome(err), err, w, job, &hits}
}

func TestWorkerStatusOutcomes(t *testing.T) {
	for _, c := range []struct {
		status int
		want   string
	}{
		{200, "done"}, {202, "done"}, {204, "done"},
		{301, "cancel"}, {302, "cancel"},
		{400, "cancel"}, {401, "cancel"}, {403, "cancel"}, {404, "cancel"}, {410, "cancel"},
		{408, "retry"}, {429, "retry"},
		{500, "retry"}, {502, "retry"}, {503, "retry"}, {504, "retry"},
	} {
		t.Run(http.StatusText(c.status), func(t *testing.T) {
			t.Parallel()
			var redirected atomic.Int32
			elsewhere := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { redirected.Add(1) }))
			defer elsewhere.Close()
			a := workOnce(t, alerts.Deps{}, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Location", elsewhere.URL)
				w.WriteHeader(c.status)
			})
			if a.outcome != c.want || a.hits.Load() != 1 {
				t.Errorf("%d: %s (%v) after %d requests, want %s after 1", c.status, a.outcome, a.err, a.hits.Load(), c.want)
			}
			if redirected.Load() != 0 {
				t.Error("a redirect was followed")
			}
		})
	}
}

func TestWorkerRuleGoneOrDisabled(t *testing.T) {
	rule := sampleRule()
	rule.URL = "http://127.0.0.1:1/never"
	disabled := rule
	disabled.Enabled = false
	for name, rules := range map[string]fakeRules{
		"deleted":  {},
		"disabled": {"org-a/ar-1": disabled},
	} {
		w, err := alerts.NewWorker(alerts.Deps{Rules: rules})
		if err != nil {
			t.Fatal(err)
		}
		if err := w.Work(context.Background(), newJob(alerts.NewAlert(rule, sampleSignal(), at))); outcome(err) != "cancel" {
			t.Errorf("%s rule: %v, want cancel", name, err)
		}
	}
}

func TestWorkerHonoursRetryAfter(t *testing.T) {
	for _, c := range []struct {
		name       string
		retryAfter string
		cap        time.Duration
		want       time.Duration
	}{
		{"seconds", "120", 0, 120 * time.Second},
		{"date", time.Now().Add(90 * time.Second).UTC().Format(http.TimeFormat), 0, 90 * time.Second},
		{"capped", "86400", time.Minute, time.Minute},
		{"shorter than the backoff", "1", 0, 5 * time.Second},
		{"absent", "", 0, 5 * time.Second},
		{"garbage", "soon", 0, 5 * time.Second},
	} {
		t.Run(c.name, func(t *testing.T) {
			deps := alerts.Deps{Backoff: func(int) time.Duration { return 5 * time.Second }, MaxRetryAfter: c.cap}
			a := workOnce(t, deps, func(w http.ResponseWriter, r *http.Request) {
				if c.retryAfter != "" {
					w.Header().Set("Retry-After", c.retryAfter)
				}
				w.WriteHeader(http.StatusTooManyRequests)
			})
			if a.outcome != "retry" {
				t.Fatalf("429: %s (%v)", a.outcome, a.err)
			}
			wait := time.Until(a.worker.NextRetry(a.job))
			if wait < c.want-2*time.Second || wait > c.want+time.Second {
				t.Errorf("next retry in %s, want about %s", wait, c.want)
			}
		})
	}
}

func TestWorkerRequestTimeout(t *testing.T) {
	release := make(chan struct{})
	a := workOnce(t, alerts.Deps{RequestTimeout: 50 * time.Millisecond}, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		select { // the receiver hangs until the worker gives up
		case <-r.Context().Done():
		case <-release:
		}
	})
	close(release)
	if a.outcome != "retry" || !strings.Contains(a.err.Error(), "127.0.0.1") {
		t.Errorf("hanging receiver: %s (%v), want a retry naming the host", a.outcome, a.err)
	}
}

// TestWorkerRefusesPrivateReceivers: by default a receiver at a loopback
// address is refused when the connection is made — the job is cancelled,
// nothing is sent and the error names no secret — and the operator's
// settings allow it, wholly or by network.
func TestWorkerRefusesPrivateReceivers(t *testing.T) {
	a := work(t, alerts.Deps{}, func(w http.ResponseWriter, r *http.Request) {})
	if a.outcome != "cancel" || a.hits.Load() != 0 || !strings.Contains(a.err.Error(), "loopback") {
		t.Errorf("loopback receiver by default: %s (%v) after %d requests", a.outcome, a.err, a.hits.Load())
	}
	for _, p := range []netguard.Policy{{AllowPrivate: true}, {Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}} {
		if a := work(t, alerts.Deps{Network: p}, func(w http.ResponseWriter, r *http.Request) {}); a.outcome != "done" {
			t.Errorf("loopback receiver with %+v: %s (%v)", p, a.outcome, a.err)
		}
	}
}

// TestWorkerRefusesNameResolvingToLoopback: a receiver named by a host
// name rather than an address passes the check when a rule is saved
// (CheckDestination looks only at literals, and a rebinding name looks
// public then), so the refusal must come when the connection is made, on
// the address the name resolved to. "localhost" stands for such a name:
// CheckDestination would refuse it by name, but the worker never asks
// CheckDestination, only its dialer.
func TestWorkerRefusesNameResolvingToLoopback(t *testing.T) {
	a := workAt(t, alerts.Deps{}, "localhost", func(w http.ResponseWriter, r *http.Request) {})
	if a.outcome != "cancel" || a.hits.Load() != 0 || !strings.Contains(a.err.Error(), "loopback") {
		t.Errorf("localhost receiver by default: %s (%v) after %d requests", a.outcome, a.err, a.hits.Load())
	}
	allow := netguard.Policy{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}}
	if a := workAt(t, alerts.Deps{Network: allow}, "localhost", func(w http.ResponseWriter, r *http.Request) {}); a.outcome != "done" || a.hits.Load() != 1 {
		t.Errorf("localhost receiver with loopback allowed: %s (%v) after %d requests", a.outcome, a.err, a.hits.Load())
	}
}

// TestWorkerDoesNotFollowRedirects: a receiver that redirects (for
// example to the cloud metadata address) is not followed; the delivery
// ends with the redirect's status.
func TestWorkerDoesNotFollowRedirects(t *testing.T) {
	a := workOnce(t, alerts.Deps{}, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://169.254.169.254/latest/meta-data/", http.StatusFound)
	})
	if a.outcome != "cancel" || a.hits.Load() != 1 {
		t.Errorf("redirecting receiver: %s (%v) after %d requests", a.outcome, a.err, a.hits.Load())
	}
}

// TestCheckDestination: literal private addresses and localhost are
// refused when a rule is saved, naming the setting that allows them and
// never repeating the URL's token; public hosts and names pass.
func TestCheckDestination(t *testing.T) {
	for _, u := range []string{"http://127.0.0.1:9/hook/SECRETTOKEN", "http://169.254.169.254/latest/meta-data/SECRETTOKEN", "https://[::1]/SECRETTOKEN",
		"http://localhost:8080/SECRETTOKEN", "http://10.0.0.5/SECRETTOKEN", "http://[::ffff:192.168.0.1]/SECRETTOKEN", "http://0.0.0.0/SECRETTOKEN"} {
		err := alerts.CheckDestination(u, netguard.Policy{})
		if agentscope.ErrorCode(err) != agentscope.EINVALID || !strings.Contains(err.Error(), "AGENTSCOPE_WEBHOOK_ALLOW_PRIVATE") || strings.Contains(err.Error(), "SECRETTOKEN") {
			t.Errorf("%s: %v", u, err)
		}
		if err := alerts.CheckDestination(u, netguard.Policy{AllowPrivate: true}); err != nil {
			t.Errorf("%s allowed: %v", u, err)
		}
	}
	for _, u := range []string{"https://hooks.slack.com/services/T/B/x", "https://8.8.8.8/h", "https://example.com/h"} {
		if err := alerts.CheckDestination(u, netguard.Policy{}); err != nil {
			t.Errorf("%s: %v", u, err)
		}
	}
}

func TestNewWorkerValidatesDeps(t *testing.T) {
	if _, err := alerts.NewWorker(alerts.Deps{}); err == nil {
		t.Error("no Rules: no error")
	}
	if err := alerts.AddWorkers(river.NewWorkers(), alerts.Deps{}); err == nil {
		t.Error("AddWorkers without Rules: no error")
	}
}

func TestRuleNeverShowsSecretOrPath(t *testing.T) {
	r := sampleRule()
	var b strings.Builder
	for _, s := range []string{r.String(), r.LogValue().String(), agentscope.RedactURL(r.URL)} {
		b.WriteString(s + "\n")
	}
	if out := b.String(); strings.Contains(out, token) || strings.Contains(out, r.Secret) || !strings.Contains(out, "https://hooks.slack.com") {
		t.Errorf("rendered rule:\n%s", out)
	}
	if got := agentscope.RedactURL("https://user:pw@example.com:8443/p?q=1"); got != "https://example.com:8443" {
		t.Errorf("redact: %s", got)
	}
}
