package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/spl"
	"github.com/agentscope/agentscope/store/postgres"
	"github.com/agentscope/agentscope/store/sqlite"
	"github.com/agentscope/agentscope/store/sqlstore"
)

// splunkForIsolation is Splunk for the isolation suite's REST and MCP
// search backends: its index holds what HEC would have indexed for every
// organisation (AgentScope's own store, searched with the embedded
// engine). A search scoped as AgentScope scopes Splunk searches (search
// org_id::<org> (<terms>) | …) reads that organisation's events, as
// Splunk's indexed org_id does; any other search reads everyone's, which
// here means B's, so a backend that forgot the scope fails the suite.
type splunkForIsolation struct {
	engine   *spl.Engine
	everyone string // the organisation an unscoped search reads: B

	mu       sync.Mutex
	scopedTo map[string]int // searches per organisation scope
	unscoped []string
}

const splunkToken = "splunk-rest-token-0123456789"

var splunkScope = regexp.MustCompile(`^search org_id::([A-Za-z0-9_.-]+)(.*)$`)

func newSplunkForIsolation(store agentscope.Store, everyone string) *splunkForIsolation {
	return &splunkForIsolation{engine: spl.New(store, spl.Options{}), everyone: everyone, scopedTo: map[string]int{}}
}

// isolationStore is the store serve uses, opened beside it by the suite:
// the events Splunk would have indexed, and the people B has.
type isolationStore interface {
	agentscope.Store
	CreateUser(ctx context.Context, u agentscope.User) (agentscope.User, error)
	AddMember(ctx context.Context, orgID, userID string, role agentscope.Role, actor string) (agentscope.Membership, error)
	CreateEmailToken(ctx context.Context, e agentscope.EmailToken) (agentscope.EmailToken, agentscope.Credential, error)
	CreateOAuthClient(ctx context.Context, c agentscope.OAuthClient) (agentscope.OAuthClient, error)
	CreateOAuthCode(ctx context.Context, c agentscope.OAuthCode) (agentscope.OAuthCode, agentscope.Credential, error)
	ExchangeOAuthCode(ctx context.Context, credential string, accessTTL, refreshTTL time.Duration, check func(agentscope.OAuthCode) error) (agentscope.OAuthTokens, error)
}

// openStoreOf opens the store of vars' data dir or database.
func openStoreOf(t *testing.T, vars map[string]string) isolationStore {
	t.Helper()
	ctx := context.Background()
	if u := vars["AGENTSCOPE_DATABASE_URL"]; u != "" {
		s, err := postgres.Open(ctx, u, sqlstore.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	s, err := sqlite.Open(ctx, filepath.Join(vars["AGENTSCOPE_DATA_DIR"], "agentscope.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// search runs query as Splunk would over every organisation's events.
func (f *splunkForIsolation) search(ctx context.Context, query string, limit int) ([]map[string]any, error) {
	org, rest := f.everyone, query
	f.mu.Lock()
	if m := splunkScope.FindStringSubmatch(query); m != nil {
		org, rest = m[1], m[2]
		f.scopedTo[org]++
	} else {
		f.unscoped = append(f.unscoped, query)
	}
	f.mu.Unlock()
	rest = strings.TrimSpace(rest)
	if rest == "" || strings.HasPrefix(rest, "|") {
		rest = "* " + rest
	}
	res, err := f.engine.Run(ctx, org, "search "+strings.TrimPrefix(rest, "search "), spl.QueryOptions{RowLimit: limit})
	if err != nil {
		return nil, err
	}
	return res.Rows, nil
}

// rest serves Splunk's export endpoint and server info.
func (f *splunkForIsolation) rest() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /services/search/jobs/export", func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		rows, err := f.search(r.Context(), r.PostForm.Get("search"), 0)
		if err != nil {
			w.WriteHeader(http.StatusBadRequest)
			_ = json.NewEncoder(w).Encode(map[string]any{"messages": []map[string]string{{"type": "ERROR", "text": err.Error()}}})
			return
		}
		enc := json.NewEncoder(w)
		for i, row := range rows {
			_ = enc.Encode(map[string]any{"preview": false, "offset": i, "lastrow": i == len(rows)-1, "result": row})
		}
	})
	mux.HandleFunc("GET /services/server/info", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"entry":[{"name":"server-info","content":{"version":"9.3.1","serverName":"idx-1","build":"abc"}}]}`)
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+splunkToken {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// mcp serves a Splunk MCP server's search tool over Streamable HTTP.
func (f *splunkForIsolation) mcp() http.Handler {
	type queryInput struct {
		Query    string `json:"query"`
		RowLimit int    `json:"row_limit,omitempty"`
	}
	srv := mcp.NewServer(&mcp.Implementation{Name: "Splunk MCP Server", Version: "1.0.0"}, nil)
	mcp.AddTool(srv, &mcp.Tool{Name: "splunk_run_query", Description: "Run a Splunk search query and return the results."},
		func(ctx context.Context, _ *mcp.CallToolRequest, in queryInput) (*mcp.CallToolResult, map[string]any, error) {
			rows, err := f.search(ctx, in.Query, in.RowLimit)
			if err != nil {
				return nil, nil, err
			}
			out := make([]any, len(rows))
			for i, r := range rows {
				out[i] = r
			}
			return nil, map[string]any{"results": out}, nil
		})
	return mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, nil)
}

// checkSplunkBackends serves again over the same store with Splunk's REST
// and MCP search configured (the fakes above) and sends A's searches for
// B's data to each backend, over the API and run_spl: no answer may hold
// B's bytes, each backend must have been asked with A's scope, and none
// without a scope.
func checkSplunkBackends(t *testing.T, vars map[string]string, store agentscope.Store, a *asA) {
	t.Helper()
	splunk := newSplunkForIsolation(store, a.b.org)
	rest := httptest.NewServer(splunk.rest())
	defer rest.Close()
	mcpSrv := httptest.NewServer(splunk.mcp())
	defer mcpSrv.Close()
	withSplunk := map[string]string{"AGENTSCOPE_SPLUNK_URL": rest.URL, "AGENTSCOPE_SPLUNK_TOKEN": splunkToken, "AGENTSCOPE_SPLUNK_MCP_URL": mcpSrv.URL}
	for k, v := range vars {
		withSplunk[k] = v
	}
	base, stop := serveInProcess(t, envOf(withSplunk))
	defer stop()
	a.base = base
	cs := httpSession(t, base, a.key)
	defer cs.Close()

	queries := a.splQueries()
	for _, backend := range []string{"splunk-rest", "splunk-mcp"} {
		for _, q := range queries {
			body, _ := json.Marshal(map[string]string{"query": q, "backend": backend})
			code, _, answer := call(t, "POST", base+"/api/v1/spl", a.key, string(body))
			a.check("SPL over "+backend+": "+q, q, answer)
			if code != http.StatusOK || !strings.Contains(answer, `"backend":"`+backend+`"`) {
				t.Errorf("SPL over %s %q: %d %s", backend, q, code, answer)
			}
			res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "run_spl", Arguments: map[string]any{"query": q, "backend": backend}})
			if err != nil {
				t.Fatalf("run_spl over %s: %v", backend, err)
			}
			all, _ := json.Marshal(res)
			a.check("run_spl over "+backend+": "+q, q, string(all))
		}
	}
	splunk.mu.Lock()
	defer splunk.mu.Unlock()
	if len(splunk.unscoped) > 0 {
		t.Errorf("Splunk received searches without an organisation's scope: %q", splunk.unscoped)
	}
	if splunk.scopedTo[agentscope.DefaultOrgID] < 4*len(queries) || splunk.scopedTo[a.b.org] > 0 {
		t.Errorf("Splunk's searches by scope: %v (want %d or more for A, none for B)", splunk.scopedTo, 4*len(queries))
	}
}
