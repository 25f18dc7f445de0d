package agentscope_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/agentscope/agentscope"
)

// FuzzRedirectURI: a redirect URI is accepted only when it is https, or
// http to a loopback host, with no fragment or user info; and a URI
// matches a registered one only with the same scheme, host and path.
func FuzzRedirectURI(f *testing.F) {
	for _, s := range []string{"https://claude.ai/api/mcp/auth_callback", "http://127.0.0.1:33418/cb", "http://localhost/cb", "http://[::1]:1/x", "http://evil.example/cb",
		"https://a.example/cb#x", "javascript:alert(1)", "http://127.0.0.1.evil.example/cb", "https://u:p@a.example/", "HTTP://127.0.0.1/cb", "/relative"} {
		f.Add(s, "http://127.0.0.1:1/cb")
	}
	f.Fuzz(func(t *testing.T, uri, other string) {
		if err := agentscope.ValidateRedirectURI(uri); err == nil {
			u, perr := url.Parse(uri)
			if perr != nil || u.Fragment != "" || u.User != nil || strings.Contains(uri, "#") {
				t.Fatalf("%q accepted", uri)
			}
			if u.Scheme != "https" && !(u.Scheme == "http" && agentscope.IsLoopbackHost(u.Hostname())) {
				t.Fatalf("%q accepted with scheme %q host %q", uri, u.Scheme, u.Hostname())
			}
		} else if agentscope.ErrorCode(err) != agentscope.EINVALID {
			t.Fatalf("%q: %v", uri, err)
		}
		if !agentscope.RedirectURIMatches([]string{uri}, uri) {
			if _, err := url.Parse(uri); err == nil {
				t.Fatalf("%q does not match itself", uri)
			}
		}
		if agentscope.RedirectURIMatches([]string{uri}, other) && uri != other {
			a, _ := url.Parse(uri)
			b, _ := url.Parse(other)
			if a.Scheme != "http" || b.Scheme != "http" || a.Hostname() != b.Hostname() || a.Path != b.Path || !agentscope.IsLoopbackHost(a.Hostname()) {
				t.Fatalf("%q matched registered %q", other, uri)
			}
		}
	})
}
