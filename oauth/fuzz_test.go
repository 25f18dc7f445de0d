package oauth_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/oauth"
)

// FuzzParseAuthorize: whatever the query, an accepted authorization
// request names the registered client, a registered redirect URI, an S256
// challenge, this server's /mcp and known scopes; a refusal that would go
// to the client carries a redirect URI that was registered.
func FuzzParseAuthorize(f *testing.F) {
	// No network: a fuzzed https client_id's document is never fetched.
	b := setup(f, oauth.Options{MetadataClient: &http.Client{Transport: offline{}}})
	good := url.Values{"client_id": {b.client.ID}, "redirect_uri": {"http://127.0.0.1:9/cb"}, "response_type": {"code"}, "state": {"s"},
		"code_challenge": {strings.Repeat("a", 43)}, "code_challenge_method": {"S256"}, "resource": {"http://agentscope.test/mcp"}, "scope": {"read run offline_access"}}
	f.Add(good.Encode())
	f.Add(strings.Replace(good.Encode(), "S256", "plain", 1))
	f.Add(strings.Replace(good.Encode(), "127.0.0.1%3A9", "127.0.0.1%3A7777", 1))
	f.Add(strings.Replace(good.Encode(), "127.0.0.1", "evil.example", 1))
	f.Add(good.Encode() + "&scope=admin")
	f.Add("client_id=" + b.client.ID)
	f.Fuzz(func(t *testing.T, query string) {
		params, err := url.ParseQuery(query)
		if err != nil {
			return
		}
		r := httptest.NewRequest("GET", "http://agentscope.test/oauth/authorize", nil)
		req, err := b.server.ParseAuthorize(context.Background(), r, params)
		if err != nil {
			var re *oauth.RedirectError
			if errors.As(err, &re) && params.Get("client_id") != b.client.ID {
				t.Fatalf("%q: a refusal for an unregistered client goes to its redirect URI", query)
			}
			return
		}
		switch {
		case req.Client.ID != b.client.ID:
			t.Fatalf("%q: client %s", query, req.Client.ID)
		case !agentscope.RedirectURIMatches(b.client.RedirectURIs, req.RedirectURI):
			t.Fatalf("%q: redirect %q not registered", query, req.RedirectURI)
		case len(req.CodeChallenge) != 43 || params.Get("code_challenge_method") != "S256":
			t.Fatalf("%q: challenge %q", query, req.CodeChallenge)
		case req.Resource != "http://agentscope.test/mcp":
			t.Fatalf("%q: resource %q", query, req.Resource)
		case len(req.Scopes) == 0 || slices.ContainsFunc(req.Scopes, func(s agentscope.Scope) bool { return !s.Valid() }):
			t.Fatalf("%q: scopes %v", query, req.Scopes)
		}
	})
}

// offline is a transport that reaches nothing.
type offline struct{}

func (offline) RoundTrip(*http.Request) (*http.Response, error) { return nil, errors.New("offline") }
