// Package signintest starts the real OpenID provider the sign-in tests run
// against (github.com/oauth2-proxy/mockoidc).
package signintest

import (
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/oauth2-proxy/mockoidc"
)

// ForgedNonce is the nonce a provider started with forgeNonce mints into
// its ID tokens, whatever the client sent.
const ForgedNonce = "forged-nonce"

// StartOIDC runs an OpenID provider on a loopback port for the test. With
// forgeNonce its authorization endpoint sees ForgedNonce instead of the
// client's nonce, so the ID token it issues answers another sign-in.
func StartOIDC(t testing.TB, forgeNonce bool) *mockoidc.MockOIDC {
	t.Helper()
	m, err := mockoidc.NewServer(nil)
	if err != nil {
		t.Fatal(err)
	}
	if forgeNonce {
		if err := m.AddMiddleware(func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if strings.HasSuffix(r.URL.Path, "/authorize") {
					q := r.URL.Query()
					q.Set("nonce", ForgedNonce)
					r.URL.RawQuery = q.Encode()
				}
				h.ServeHTTP(w, r)
			})
		}); err != nil {
			t.Fatal(err)
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Start(ln, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Shutdown() })
	return m
}
