package oauth_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/internal/ratelimit"
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

// FuzzRegister: whatever the body, registration answers 201 with a
// public client whose redirect URIs pass agentscope.ValidateRedirectURI,
// or a 4xx OAuth error; never a server error.
func FuzzRegister(f *testing.F) {
	b := setup(f, oauth.Options{RegisterLimit: ratelimit.Limit{Rate: -1}})
	for _, s := range []string{`{"redirect_uris":["https://a.example/cb"]}`, `{"redirect_uris":["http://127.0.0.1/cb"],"grant_types":["refresh_token"]}`,
		`{"redirect_uris":"x"}`, `[]`, `{"client_name":"\u0000"}`, `{"redirect_uris":["javascript:x"]}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		rec := httptest.NewRecorder()
		mux := http.NewServeMux()
		b.server.Route(mux)
		mux.ServeHTTP(rec, httptest.NewRequest("POST", "/oauth/register", strings.NewReader(body)))
		var out struct {
			ClientID     string   `json:"client_id"`
			RedirectURIs []string `json:"redirect_uris"`
			Method       string   `json:"token_endpoint_auth_method"`
			Error        string   `json:"error"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
			t.Fatalf("%q: answer %d is not JSON: %s", body, rec.Code, rec.Body)
		}
		switch rec.Code {
		case http.StatusCreated:
			if out.ClientID == "" || out.Method != "none" || len(out.RedirectURIs) == 0 {
				t.Fatalf("%q: registered %+v", body, out)
			}
			for _, u := range out.RedirectURIs {
				if agentscope.ValidateRedirectURI(u) != nil {
					t.Fatalf("%q: registered the redirect URI %q", body, u)
				}
			}
		case http.StatusBadRequest:
			if out.Error != "invalid_client_metadata" && out.Error != "invalid_redirect_uri" {
				t.Fatalf("%q: error %q", body, out.Error)
			}
		default:
			t.Fatalf("%q: status %d %s", body, rec.Code, rec.Body)
		}
	})
}

// documentServer answers every request with the document it holds.
type documentServer struct{ body *atomic.Pointer[string] }

func (d documentServer) RoundTrip(*http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}}, Body: io.NopCloser(strings.NewReader(*d.body.Load()))}, nil
}

// FuzzClientMetadataDocument: whatever document a client_id URL serves,
// the client is accepted only when the document names that URL, lists
// the requested redirect URI among valid ones and asks for no client
// secret; refusals are shown to the person, never sent to the redirect.
func FuzzClientMetadataDocument(f *testing.F) {
	const id = "https://host.example/client.json"
	f.Add(`{"client_id":"` + id + `","redirect_uris":["http://127.0.0.1:9/cb"]}`)
	f.Add(`{"client_id":"` + id + `","redirect_uris":["http://127.0.0.1:9/cb"],"token_endpoint_auth_method":"client_secret_basic"}`)
	f.Add(`{"client_id":"https://other.example/c.json","redirect_uris":["http://127.0.0.1:9/cb"]}`)
	f.Add(`{"client_id":"` + id + `","redirect_uris":["http://evil.example/cb"]}`)
	f.Add(`null`)
	var served atomic.Pointer[string]
	b := setup(f, oauth.Options{MetadataClient: &http.Client{Transport: documentServer{&served}}})
	f.Fuzz(func(t *testing.T, doc string) {
		served.Store(&doc)
		params := url.Values{"client_id": {id}, "redirect_uri": {"http://127.0.0.1:9/cb"}, "response_type": {"code"},
			"code_challenge": {strings.Repeat("a", 43)}, "code_challenge_method": {"S256"}}
		req, err := b.server.ParseAuthorize(context.Background(), httptest.NewRequest("GET", "http://agentscope.test/oauth/authorize", nil), params)
		if err != nil {
			var re *oauth.RedirectError
			if errors.As(err, &re) {
				return // the client was accepted; the fault is the request's
			}
			if strings.Contains(doc, id) && !strings.Contains(err.Error(), "client_id") && !strings.Contains(err.Error(), "redirect_uri") {
				t.Fatalf("%q: refused without naming the field: %v", doc, err)
			}
			return
		}
		var parsed struct {
			ClientID string `json:"client_id"`
			Method   string `json:"token_endpoint_auth_method"`
		}
		if json.Unmarshal([]byte(doc), &parsed) != nil || parsed.ClientID != id || (parsed.Method != "" && parsed.Method != "none") ||
			req.Client.ID != id || !agentscope.RedirectURIMatches(req.Client.RedirectURIs, "http://127.0.0.1:9/cb") {
			t.Fatalf("%q accepted as %+v", doc, req.Client)
		}
	})
}
