package main

import (
	"cmp"
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agentscope/agentscope/signin"
	"github.com/agentscope/agentscope/splunkbridge"
	"github.com/agentscope/agentscope/splunkbridge/hectest"
)

// Secrets of the healthy configuration: none may appear in doctor's
// output, whatever it checks.
const (
	docHECToken  = "hec-secret-0123456789"
	docRESTToken = "rest-secret-0123456789"
	docMCPToken  = "mcp-secret-0123456789"
	docLLMKey    = "sk-llm-secret-0123456789"
	docSMTPPass  = "smtp-secret-0123456789"
	docOIDCSec   = "oidc-secret-0123456789"
)

// fakeSMTP is a mail server that speaks enough SMTP for a session: EHLO
// (offering AUTH PLAIN), AUTH PLAIN with user "mailer" and docSMTPPass,
// MAIL, RSET and QUIT. It accepts no message.
func fakeSMTP(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	good := base64.StdEncoding.EncodeToString([]byte("\x00mailer\x00" + docSMTPPass))
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				tp := textproto.NewConn(conn)
				tp.PrintfLine("220 fake ESMTP")
				for {
					line, err := tp.ReadLine()
					if err != nil {
						return
					}
					verb, arg, _ := strings.Cut(line, " ")
					switch strings.ToUpper(verb) {
					case "EHLO":
						tp.PrintfLine("250-fake\r\n250 AUTH PLAIN")
					case "AUTH":
						if arg == "PLAIN "+good {
							tp.PrintfLine("235 2.7.0 Authentication successful")
						} else {
							tp.PrintfLine("535 5.7.8 Authentication credentials invalid")
						}
					case "MAIL", "RSET":
						tp.PrintfLine("250 OK")
					case "QUIT":
						tp.PrintfLine("221 Bye")
						return
					default:
						tp.PrintfLine("502 not implemented")
					}
				}
			}()
		}
	}()
	return ln.Addr().(*net.TCPAddr).Port
}

// fakeOIDC is an issuer's discovery document and keys; named, if not
// empty, is the issuer the document names instead of its own URL.
func fakeOIDC(t *testing.T, named string) string {
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/.well-known/openid-configuration":
			fmt.Fprintf(w, `{"issuer":%q,"authorization_endpoint":"%[2]s/auth","token_endpoint":"%[2]s/token","jwks_uri":"%[2]s/keys"}`, cmp.Or(named, srv.URL), srv.URL)
		case "/keys":
			fmt.Fprint(w, `{"keys":[{"kty":"RSA","kid":"k1","use":"sig","n":"0vx7","e":"AQAB"}]}`)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// fakeSplunkREST answers server/info and runs "| makeresults | eval
// now=now()" as Splunk does, with its clock skewed by skew.
func fakeSplunkREST(t *testing.T, skew time.Duration) string {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /services/server/info", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"entry":[{"name":"server-info","content":{"version":"9.3.1","serverName":"idx-1","build":"abc"}}]}`)
	})
	mux.HandleFunc("POST /services/search/jobs/export", func(w http.ResponseWriter, r *http.Request) {
		if r.FormValue("search") != "| makeresults | eval now=now()" {
			http.Error(w, "unexpected search", http.StatusBadRequest)
			return
		}
		now := time.Now().Add(skew).Unix()
		fmt.Fprintf(w, `{"preview":false,"offset":0,"lastrow":true,"result":{"_time":"%d","now":"%d"}}`+"\n", now, now)
	})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+docRESTToken {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"messages":[{"type":"WARN","text":"call not properly authenticated"}]}`)
			return
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// fakeSplunkMCP is an MCP server over Streamable HTTP with the official
// Splunk MCP server's search tool, or only another tool.
func fakeSplunkMCP(t *testing.T, searchTool bool) string {
	srv := mcp.NewServer(&mcp.Implementation{Name: "splunk-mcp"}, nil)
	type in struct {
		Query string `json:"query"`
	}
	name := "splunk_run_query"
	if !searchTool {
		name = "get_indexes"
	}
	mcp.AddTool(srv, &mcp.Tool{Name: name}, func(context.Context, *mcp.CallToolRequest, in) (*mcp.CallToolResult, map[string]any, error) {
		return nil, map[string]any{}, nil
	})
	h := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, nil)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+docMCPToken {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(hs.Close)
	return hs.URL
}

// fakeOpenAI answers GET /v1/models as OpenAI does: the list for the key,
// 401 with OpenAI's error (which echoes part of the key) otherwise.
func fakeOpenAI(t *testing.T) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path != "/v1/models" || r.Method != http.MethodGet {
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprint(w, `{"error":{"message":"Invalid URL","type":"invalid_request_error","param":null,"code":null}}`)
			return
		}
		key := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		if key != docLLMKey {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprintf(w, `{"error":{"message":"Incorrect API key provided: %s. You can find your API key at https://platform.openai.com/account/api-keys.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}`, key)
			return
		}
		fmt.Fprint(w, `{"object":"list","data":[{"id":"gpt-4.1-mini","object":"model","created":1744316542,"owned_by":"system"},{"id":"gpt-4.1","object":"model","created":1744316542,"owned_by":"system"}]}`)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/v1"
}

// doctorRun runs agentscope doctor --json with vars as both the settings
// and the provider environment, and returns its exit code and checks.
// doctorRun runs doctor --json with each check bounded by 5s, or by
// timeout when given (a check that spawns a process needs longer on a
// loaded machine).
func doctorRun(t *testing.T, vars map[string]string, timeout ...string) (int, map[string]doctorCheck, string) {
	t.Helper()
	var out, errOut strings.Builder
	get := func(k string) string { return vars[k] }
	environ := func() []string {
		var kvs []string
		for k, v := range vars {
			kvs = append(kvs, k+"="+v)
		}
		return kvs
	}
	e := &Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errOut, Getenv: get, ProviderEnv: get, Environ: environ}
	code := e.Run(context.Background(), []string{"doctor", "--json", "--timeout", append(timeout, "5s")[0]})
	all := out.String() + errOut.String()
	for _, s := range []string{docHECToken, docRESTToken, docMCPToken, docLLMKey, docSMTPPass, docOIDCSec, "wrong-secret"} {
		if strings.Contains(all, s) {
			t.Errorf("doctor printed a secret (%s):\n%s", s, all)
		}
	}
	got := decodeJSON[struct{ Checks []doctorCheck }](t, out.String())
	checks := map[string]doctorCheck{}
	for _, c := range got.Checks {
		checks[c.Name] = c
	}
	return code, checks, all
}

// healthyVars is a configuration where everything is set up and works.
func healthyVars(t *testing.T, st store) map[string]string {
	vars := varsOf(t, st)
	cli(t, vars, "migrate")
	hec := hectest.New(hectest.Options{Token: docHECToken})
	t.Cleanup(hec.Close)
	vars[splunkbridge.EnvHECURL], vars[splunkbridge.EnvHECToken] = hec.URL(), docHECToken
	vars[splunkbridge.EnvURL], vars[splunkbridge.EnvToken] = fakeSplunkREST(t, 0), docRESTToken
	vars[splunkbridge.EnvMCPURL], vars[splunkbridge.EnvMCPToken] = fakeSplunkMCP(t, true), docMCPToken
	vars["AGENTSCOPE_LLM_BASE_URL"], vars["AGENTSCOPE_LLM_API_KEY"], vars["AGENTSCOPE_LLM_MODEL"] = fakeOpenAI(t), docLLMKey, "gpt-4.1-mini"
	vars[signin.EnvSMTPURL], vars[signin.EnvEmailFrom] = fmt.Sprintf("smtp://mailer:%s@127.0.0.1:%d", docSMTPPass, fakeSMTP(t)), "agentscope@example.com"
	vars[signin.EnvOIDCIssuer], vars[signin.EnvOIDCClientID], vars[signin.EnvOIDCClientSecret] = fakeOIDC(t, ""), "agentscope", docOIDCSec
	return vars
}

var doctorChecks = []string{"settings", "data dir", "database", "splunk hec", "splunk search", "splunk mcp", "llm", "clock", "smtp", "oidc"}

// TestDoctorHealthy: on both stores, a working configuration passes every
// check, with real requests to each endpoint, and exits 0.
func TestDoctorHealthy(t *testing.T) {
	for _, st := range stores() {
		t.Run(st.name, func(t *testing.T) {
			code, checks, all := doctorRun(t, healthyVars(t, st))
			if code != 0 {
				t.Errorf("exit %d:\n%s", code, all)
			}
			for _, name := range doctorChecks {
				if c, ok := checks[name]; !ok || !c.OK || c.Skipped || c.Fix != "" {
					t.Errorf("check %s: %+v", name, c)
				}
			}
			for name, want := range map[string]string{
				"splunk hec": "token accepted", "splunk search": "Splunk 9.3.1 (idx-1)", "splunk mcp": "search tool splunk_run_query",
				"llm": "model gpt-4.1-mini available", "clock": "Splunk search's clock is within 10s",
				"database": "migrations up to date", "smtp": "signed in as mailer, session open, sender agentscope@example.com accepted",
				"oidc": "discovery and 1 signing keys read",
			} {
				if !strings.Contains(checks[name].Detail, want) {
					t.Errorf("check %s: %q lacks %q", name, checks[name].Detail, want)
				}
			}
		})
	}
}

// TestDoctorBroken: each broken part fails with its fix, the others still
// pass, nothing secret is printed, and the exit status is 1.
func TestDoctorBroken(t *testing.T) {
	vars := healthyVars(t, stores()[0])
	vars[splunkbridge.EnvHECToken] = "wrong-secret-hec"
	vars[splunkbridge.EnvToken] = "wrong-secret-rest"
	vars[splunkbridge.EnvMCPURL] = fakeSplunkMCP(t, false)
	vars["AGENTSCOPE_LLM_API_KEY"] = "wrong-secret-llm"
	vars[splunkbridge.EnvURL] = fakeSplunkREST(t, time.Hour) // and a clock an hour off, once signed in
	vars[signin.EnvSMTPURL] = strings.Replace(vars[signin.EnvSMTPURL], docSMTPPass, "wrong-secret-smtp", 1)
	vars[signin.EnvOIDCIssuer] = fakeOIDC(t, "https://elsewhere.example")
	if err := os.Chmod(vars["AGENTSCOPE_DATA_DIR"], 0o755); err != nil {
		t.Fatal(err)
	}
	code, checks, all := doctorRun(t, vars)
	if code != 1 || !strings.Contains(all, "checks failed") {
		t.Errorf("exit %d:\n%s", code, all)
	}
	for name, want := range map[string][2]string{
		"data dir":      {"is 0755", "chmod 700"},
		"splunk hec":    {"refused the token: HTTP 403 code 4", splunkbridge.EnvHECToken},
		"splunk search": {"401", splunkbridge.EnvToken},
		"splunk mcp":    {"get_indexes", splunkbridge.EnvMCPSearchTool},
		"llm":           {"refused the key: HTTP 401", "AGENTSCOPE_LLM_API_KEY"},
		"smtp":          {"authentication as mailer refused", "AGENTSCOPE_SMTP_URL"},
		"oidc":          {`names the issuer "https://elsewhere.example"`, "AGENTSCOPE_OIDC_ISSUER to https://elsewhere.example"},
	} {
		c := checks[name]
		if c.OK || !strings.Contains(c.Detail, want[0]) || !strings.Contains(c.Fix, want[1]) {
			t.Errorf("check %s: %+v; want a failure saying %q with a fix naming %q", name, c, want[0], want[1])
		}
	}
	for _, name := range []string{"settings", "database"} {
		if !checks[name].OK {
			t.Errorf("check %s: %+v", name, checks[name])
		}
	}
	// HEC's clock is read though its token is refused.
	if c := checks["clock"]; !c.OK || !strings.Contains(c.Detail, "HEC's clock") {
		t.Errorf("clock: %+v", c)
	}

	// Signed in to a Splunk whose clock is an hour ahead; an MCP command
	// that does not run.
	vars[splunkbridge.EnvToken] = docRESTToken
	vars[splunkbridge.EnvMCPURL], vars[splunkbridge.EnvMCPToken], vars[splunkbridge.EnvMCPCommand] = "", "", filepath.Join(t.TempDir(), "splunk-mcp")+" --token wrong-secret-cmd"
	_, checks, _ = doctorRun(t, vars)
	if c := checks["clock"]; c.OK || !strings.Contains(c.Detail, "Splunk search's clock is 1h0m0s ahead of this machine's") || !strings.Contains(c.Fix, "NTP") {
		t.Errorf("clock: %+v", c)
	}
	if c := checks["splunk mcp"]; c.OK || !strings.Contains(c.Detail, "splunk-mcp") || !strings.Contains(c.Fix, splunkbridge.EnvMCPCommand) {
		t.Errorf("splunk mcp command: %+v", c)
	}
}

// TestDoctorUnconfigured: what is not configured is skipped, not failed;
// a store that is not migrated, or was migrated by a newer AgentScope,
// fails with its fix; doctor creates nothing.
func TestDoctorUnconfigured(t *testing.T) {
	for _, st := range stores() {
		t.Run(st.name, func(t *testing.T) {
			vars := varsOf(t, st)
			dir := vars["AGENTSCOPE_DATA_DIR"]
			if err := os.Chmod(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			code, checks, all := doctorRun(t, vars)
			if code != 1 {
				t.Errorf("exit %d before migrate:\n%s", code, all)
			}
			if c := checks["database"]; c.OK || !strings.Contains(c.Fix, "agentscope migrate") {
				t.Errorf("database before migrate: %+v", c)
			}
			if entries, _ := os.ReadDir(dir); len(entries) != 0 {
				t.Errorf("doctor created %v in the data dir", entries)
			}

			cli(t, vars, "migrate")
			code, checks, all = doctorRun(t, vars)
			if code != 0 {
				t.Errorf("exit %d after migrate:\n%s", code, all)
			}
			for _, name := range []string{"splunk hec", "splunk search", "splunk mcp", "llm", "clock", "smtp", "oidc"} {
				if c := checks[name]; !c.OK || !c.Skipped {
					t.Errorf("check %s unconfigured: %+v", name, c)
				}
			}

			// A migration this binary does not know.
			s := testStore(t, vars)
			if _, err := s.WriteDB().Exec(`INSERT INTO schema_migrations (version, name) VALUES (9999, '9999_future.sql')`); err != nil {
				t.Fatal(err)
			}
			_, checks, _ = doctorRun(t, vars)
			if c := checks["database"]; c.OK || !strings.Contains(c.Detail, "[9999]") || !strings.Contains(c.Fix, "version that migrated") {
				t.Errorf("database with an unknown migration: %+v", c)
			}
		})
	}
}

// TestDoctorSettingsMistakes: settings doctor passed while serve would
// refuse them or ignore them (found trying it as a new user): a token too
// short for serve, and a misspelt variable that does nothing — named with
// the setting it is closest to. A variable far from every setting (another
// tool's) is no mistake.
func TestDoctorSettingsMistakes(t *testing.T) {
	vars := varsOf(t, stores()[0])
	cli(t, vars, "migrate")
	vars["AGENTSCOPE_LINT_SHELL"] = "required" // make lint's, not a setting
	if code, checks, all := doctorRun(t, vars); code != 0 || !checks["settings"].OK {
		t.Fatalf("a valid configuration: exit %d, settings %+v\n%s", code, checks["settings"], all)
	}
	vars["AGENTSCOPE_OTLP_IDLE_TIMOUT"] = "5m"
	vars["AGENTSCOPE_SPLUNK_HEC_TOKN"] = "x"
	code, checks, _ := doctorRun(t, vars)
	if c := checks["settings"]; code != 1 || c.OK ||
		!strings.Contains(c.Detail, "AGENTSCOPE_OTLP_IDLE_TIMOUT is not a setting AgentScope reads: did you mean AGENTSCOPE_OTLP_IDLE_TIMEOUT?") ||
		!strings.Contains(c.Detail, "did you mean AGENTSCOPE_SPLUNK_HEC_TOKEN?") {
		t.Errorf("misspelt settings: exit %d, %+v", code, c)
	}
	delete(vars, "AGENTSCOPE_OTLP_IDLE_TIMOUT")
	delete(vars, "AGENTSCOPE_SPLUNK_HEC_TOKN")
	vars["AGENTSCOPE_TOKEN"] = "short"
	code, checks, _ = doctorRun(t, vars)
	if c := checks["settings"]; code != 1 || c.OK || !strings.Contains(c.Detail, "shorter than 16 characters") {
		t.Errorf("a short token: exit %d, %+v", code, c)
	}
}

// TestDoctorText: the plain output is a line a check, the fix under a
// failure.
func TestDoctorText(t *testing.T) {
	vars := map[string]string{"AGENTSCOPE_DATA_DIR": filepath.Join(t.TempDir(), "missing")}
	code, stdout, _ := runCommand(vars, "doctor")
	if code != 1 || !strings.Contains(stdout, "FAIL  data dir") || !strings.Contains(stdout, "fix: run agentscope migrate") ||
		!strings.Contains(stdout, "skip  splunk hec") {
		t.Errorf("exit %d:\n%s", code, stdout)
	}
}

// TestDoctorMCPCommand: a Splunk MCP server given as a command is spawned,
// initialized and its search tool found; here AgentScope's own stdio
// server, whose run_spl is named as the search tool.
func TestDoctorMCPCommand(t *testing.T) {
	vars := varsOf(t, stores()[0])
	cli(t, vars, "migrate")
	vars[splunkbridge.EnvMCPCommand] = "env AGENTSCOPE_DATA_DIR=" + t.TempDir() + " " + binary(t) + " mcp --no-worker"
	vars[splunkbridge.EnvMCPSearchTool] = "run_spl"
	// The server it spawns opens a store and migrates it first: seconds on
	// a busy machine.
	code, checks, all := doctorRun(t, vars, "60s")
	if c := checks["splunk mcp"]; code != 0 || !c.OK || c.Skipped || !strings.Contains(c.Detail, "search tool run_spl (query argument query)") {
		t.Errorf("exit %d, splunk mcp %+v:\n%s", code, c, all)
	}
}

// TestDoctorTimeoutBounds: a timeout that would fail every check is refused
// up front, naming the flag, with the usage exit status.
func TestDoctorTimeoutBounds(t *testing.T) {
	for _, v := range []string{"0", "-1s"} {
		var out, errOut strings.Builder
		vars := map[string]string{"AGENTSCOPE_DATA_DIR": t.TempDir()}
		e := &Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &syncWriter{w: &errOut}, Getenv: func(k string) string { return vars[k] }}
		code := e.Run(context.Background(), []string{"doctor", "--timeout", v})
		if code != 2 || !strings.Contains(errOut.String(), "--timeout must be more than 0") || out.Len() != 0 {
			t.Errorf("doctor --timeout %s: exit %d, stdout %q, stderr %q", v, code, out.String(), errOut.String())
		}
	}
}
