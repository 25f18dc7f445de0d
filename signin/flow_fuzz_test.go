package signin

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"time"

	"github.com/agentscope/agentscope"
)

// FuzzFinishCallback: whatever flow cookie and query a callback brings, an
// unsealed or mismatched one is refused as not this browser's flow before
// any provider is called, and nothing panics. A genuine cookie sealed here
// is refused the same way once its state or provider differs.
func FuzzFinishCallback(f *testing.F) {
	flows, err := NewFlows(Config{PublicURL: "http://127.0.0.1:1", GitHub: OAuthConfig{ClientID: "id", ClientSecret: "s", TokenURL: "http://127.0.0.1:1/token"}},
		FlowOptions{Key: []byte("fuzz"), HTTPClient: &http.Client{Transport: refuse{}}})
	if err != nil {
		f.Fatal(err)
	}
	sealed := flows.seal(flow{Provider: ProviderGitHub, State: "the-state", Verifier: "v", Next: "/", Expires: time.Now().Add(time.Hour).Unix()})
	f.Add(sealed, "the-state", "github")
	f.Add(sealed, "other", "github")
	f.Add(sealed, "the-state", "discord")
	f.Add("", "", "github")
	f.Add("AAAA", "x", "oidc")
	f.Fuzz(func(t *testing.T, cookie, state, provider string) {
		q := url.Values{"state": {state}, "code": {"c"}}
		r := httptest.NewRequest(http.MethodGet, "/auth/"+url.PathEscape(provider)+"/callback?"+q.Encode(), nil)
		r.AddCookie(&http.Cookie{Name: flowCookie, Value: url.QueryEscape(cookie)})
		_, _, clear, err := flows.Finish(context.Background(), provider, r)
		if clear == nil || clear.MaxAge >= 0 {
			t.Fatal("the flow cookie is not cleared")
		}
		if err == nil {
			t.Fatal("a callback signed in without a provider")
		}
		fl, opened := flows.open(cookie)
		genuine := opened && fl.State == state && fl.Provider == provider && time.Now().Unix() < fl.Expires
		if !genuine && provider == ProviderGitHub && agentscope.ErrorMessage(err) != agentscope.ErrorMessage(errFlow) {
			t.Fatalf("cookie %q state %q: %v, want the flow refused", cookie, state, err)
		}
	})
}

// refuse is a transport that reaches no provider.
type refuse struct{}

func (refuse) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, context.Canceled
}
