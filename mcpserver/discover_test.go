package mcpserver_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agentscope/agentscope"
)

// TestHTTPRefusesStatelessDiscover: /mcp is a stateful endpoint, so a
// server/discover at protocol 2026-07-28 gets UnsupportedProtocolVersion
// naming the versions it takes (not a DiscoverResult, which mcp-go's client
// takes for a stateless server), a client that probes with it falls back to
// initialize, and the bearer token is still checked first.
func TestHTTPRefusesStatelessDiscover(t *testing.T) {
	srv := newServer(t)
	hs := httptest.NewServer(authenticated(srv.HTTPHandler(), func(tok string) (string, bool) {
		return agentscope.DefaultOrgID, tok == "good"
	}))
	defer hs.Close()

	post := func(tok, version, body string) (*http.Response, map[string]any) {
		// As mcp-go and go-sdk clients send a discover at 2026-07-28.
		t.Helper()
		req, _ := http.NewRequest(http.MethodPost, hs.URL, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set("Mcp-Protocol-Version", version)
		req.Header.Set("Mcp-Method", "server/discover")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var v map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&v)
		return resp, v
	}
	discover := `{"jsonrpc":"2.0","id":"d-1","method":"server/discover","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientInfo":{"name":"x","version":"1"},"io.modelcontextprotocol/clientCapabilities":{}}}}`

	if resp, _ := post("bad", "2026-07-28", discover); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("discover with a wrong token: status %d, want 401", resp.StatusCode)
	}
	resp, v := post("good", "2026-07-28", discover)
	errObj, _ := v["error"].(map[string]any)
	data, _ := errObj["data"].(map[string]any)
	supported, _ := data["supported"].([]any)
	if resp.StatusCode != http.StatusBadRequest || v["id"] != "d-1" || errObj["code"] != float64(mcp.CodeUnsupportedProtocolVersion) ||
		data["requested"] != "2026-07-28" || !slices.Contains(supported, any("2025-11-25")) || slices.Contains(supported, any("2026-07-28")) {
		t.Errorf("discover at 2026-07-28: status %d, %v", resp.StatusCode, v)
	}

	// A go-sdk client, which probes with server/discover by default, falls
	// back to initialize and works.
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "t"}, nil).Connect(context.Background(), &mcp.StreamableClientTransport{
		Endpoint:   hs.URL,
		HTTPClient: &http.Client{Transport: bearer{"good"}},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	if got := cs.InitializeResult().ProtocolVersion; got != "2025-11-25" {
		t.Errorf("negotiated %q, want 2025-11-25", got)
	}
	if _, err := cs.ListTools(context.Background(), nil); err != nil {
		t.Errorf("tools/list after the fallback: %v", err)
	}
}

type bearer struct{ tok string }

func (b bearer) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+b.tok)
	return http.DefaultTransport.RoundTrip(r)
}
