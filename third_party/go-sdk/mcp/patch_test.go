// AgentScope's tests of its patch to the streamable handler (PATCHED.md in
// the module root); upstream's own tests are not carried.

package mcp

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestPatchSessionNotFoundStillErrSessionMissing: the 404 for an unknown
// session has a JSON-RPC error as its body now, and go-sdk's client still
// reports ErrSessionMissing for it (the id is null, which it does not
// decode as an answer), so a client reconnects as before.
func TestPatchSessionNotFoundStillErrSessionMissing(t *testing.T) {
	ctx := context.Background()
	server := NewServer(&Implementation{Name: "s", Version: "1"}, nil)
	hs := httptest.NewServer(NewStreamableHTTPHandler(func(*http.Request) *Server { return server }, nil))
	defer hs.Close()
	cs, err := NewClient(&Implementation{Name: "c", Version: "1"}, nil).Connect(ctx, &StreamableClientTransport{
		Endpoint: hs.URL, DisableStandaloneSSE: true, MaxRetries: -1,
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	for ss := range server.Sessions() {
		ss.Close()
	}
	if _, err := cs.ListTools(ctx, nil); !errors.Is(err, ErrSessionMissing) {
		t.Errorf("ListTools on a closed session: %v; want ErrSessionMissing", err)
	}
}
