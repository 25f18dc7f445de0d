package oauth_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/oauth"
)

// TestClientMetadataDocuments: a host whose client_id is an https URL is
// known by the metadata document published there: AgentScope fetches it
// on the authorization request, checks that it names itself, its
// redirect URIs and no client secret, keeps the client, and refuses
// anything else before the person sees a consent page. By default it
// fetches from public addresses only.
func TestClientMetadataDocuments(t *testing.T) {
	docs := map[string]string{}
	tlsSrv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		doc, ok := docs[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(doc))
	}))
	defer tlsSrv.Close()
	id := func(path string) string { return tlsSrv.URL + path }
	docs["/good.json"] = `{"client_id":"` + id("/good.json") + `","client_name":"Doc Host","redirect_uris":["http://127.0.0.1:9/cb"],"token_endpoint_auth_method":"none"}`
	docs["/other.json"] = `{"client_id":"https://elsewhere.example/c.json","redirect_uris":["http://127.0.0.1:9/cb"]}`
	docs["/jwt.json"] = `{"client_id":"` + id("/jwt.json") + `","redirect_uris":["http://127.0.0.1:9/cb"],"token_endpoint_auth_method":"private_key_jwt"}`
	docs["/evil.json"] = `{"client_id":"` + id("/evil.json") + `","redirect_uris":["http://evil.example/cb"]}`
	docs["/big.json"] = `{"client_id":"` + id("/big.json") + `","client_name":"` + strings.Repeat("x", 6000) + `"}`
	docs["/text.json"] = `hello`

	b := setup(t, oauth.Options{MetadataClient: tlsSrv.Client()})
	ctx := context.Background()
	params := func(clientID string) url.Values {
		return url.Values{"client_id": {clientID}, "redirect_uri": {"http://127.0.0.1:9/cb"}, "response_type": {"code"}, "state": {"s"},
			"code_challenge": {challengeOf(strings.Repeat("v", 43))}, "code_challenge_method": {"S256"}}
	}
	r := httptest.NewRequest("GET", b.base+"/oauth/authorize", nil)
	req, err := b.server.ParseAuthorize(ctx, r, params(id("/good.json")))
	if err != nil || req.Client.ID != id("/good.json") || req.Client.Name != "Doc Host" {
		t.Fatalf("a good document: %+v, %v", req, err)
	}
	if c, err := b.store.GetOAuthClient(ctx, id("/good.json")); err != nil || c.Name != "Doc Host" {
		t.Fatalf("the client is not kept: %+v, %v", c, err)
	}
	// Its codes and tokens work as a registered client's.
	_, code, err := b.store.CreateOAuthCode(ctx, agentscope.OAuthCode{
		Grant:       agentscope.OAuthGrant{OrgID: agentscope.DefaultOrgID, ClientID: req.Client.ID, Actor: "instance", Role: agentscope.RoleOwner, Scopes: []agentscope.Scope{agentscope.ScopeRead}, Resource: b.base + "/mcp"},
		RedirectURI: req.RedirectURI, CodeChallenge: req.CodeChallenge, ExpiresAt: time.Now().Add(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	status, out, _ := post(t, b.base+"/oauth/token", "application/x-www-form-urlencoded", url.Values{"grant_type": {"authorization_code"}, "code": {code.Reveal()},
		"client_id": {req.Client.ID}, "redirect_uri": {req.RedirectURI}, "code_verifier": {strings.Repeat("v", 43)}}.Encode())
	if status != http.StatusOK {
		t.Fatalf("token for a metadata document's client: %d %v", status, out)
	}

	for path, want := range map[string]string{
		"/missing.json": "answered 404",
		"/other.json":   "names another client_id",
		"/jwt.json":     "private_key_jwt",
		"/evil.json":    "redirect_uris",
		"/big.json":     "larger than",
		"/text.json":    "not a JSON object",
	} {
		_, err := b.server.ParseAuthorize(ctx, r, params(id(path)))
		var re *oauth.RedirectError
		if err == nil || errors.As(err, &re) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want a refusal shown to the person saying %q", path, err, want)
		}
	}
	// A redirect URI the document does not list is refused too.
	p := params(id("/good.json"))
	p.Set("redirect_uri", "https://elsewhere.example/cb")
	if _, err := b.server.ParseAuthorize(ctx, r, p); err == nil || !strings.Contains(err.Error(), "redirect_uri") {
		t.Errorf("an unlisted redirect URI: %v", err)
	}

	// The default fetcher does not reach loopback addresses (SSRF).
	def := setup(t, oauth.Options{})
	if _, err := def.server.ParseAuthorize(ctx, r, params(id("/good.json"))); err == nil || !strings.Contains(err.Error(), "could not be fetched") {
		t.Errorf("a document on a loopback address with the default fetcher: %v", err)
	}
	var asm map[string]any
	getJSON(t, b.base+"/.well-known/oauth-authorization-server", &asm)
	if asm["client_id_metadata_document_supported"] != true {
		t.Error("the metadata does not say client metadata documents are supported")
	}
}
