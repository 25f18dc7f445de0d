package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/mcpproxy"
	"github.com/agentscope/agentscope/service"
)

// headerFlags is a repeatable --header 'Name: value'.
type headerFlags []string

func (h *headerFlags) String() string     { return strings.Join(*h, ", ") }
func (h *headerFlags) Set(v string) error { *h = append(*h, v); return nil }

// proxyDrainTimeout bounds how long the proxy, once the host has gone,
// waits for its last records to reach AgentScope.
const proxyDrainTimeout = 10 * time.Second

// runProxy relays an MCP host (stdio) to one MCP server, spawned or over
// Streamable HTTP, and records its tool calls. Only the relayed protocol
// goes to stdout; the proxy's own lines go to stderr.
func runProxy(ctx context.Context, env *Env, args []string) error {
	var cfg Config
	var agent, upURL, to, org string
	var headers headerFlags
	// Everything after the first "--" is the server's command line, its
	// flags included: parseFlags must not see it.
	var serverArgv []string
	if i := slices.Index(args, "--"); i >= 0 {
		args, serverArgv = args[:i], args[i+1:]
	}
	pos, err := env.parseFlags("proxy", args, &cfg, storeFlags, func(fs *flag.FlagSet) {
		fs.StringVar(&agent, "agent", "", "the agent the sessions are recorded for; empty takes the host's name from initialize (clientInfo.name)")
		fs.StringVar(&upURL, "url", "", "a Streamable HTTP MCP server to relay to, instead of a command after --")
		fs.Var(&headers, "header", "a header sent to the --url server, 'Name: value' (repeatable)")
		fs.StringVar(&to, "to", env.Getenv("AGENTSCOPE_PROXY_TO"), "a remote AgentScope to record to (its base URL, e.g. https://agentscope.example.com) with the key in AGENTSCOPE_KEY; empty records to the local data dir (AGENTSCOPE_PROXY_TO)")
		fs.StringVar(&org, "org", agentscope.DefaultOrgID, "the organisation the local store records for (not with --to: the key's)")
	})
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q: the server's command goes after --", pos[0])}
	}
	pos = serverArgv
	switch {
	case upURL == "" && len(pos) == 0:
		return usageError{"name the MCP server: agentscope proxy [flags] -- <command> [args…], or --url URL"}
	case upURL != "" && len(pos) > 0:
		return usageError{fmt.Sprintf("--url and a command (%q) both name a server; give one", pos[0])}
	}
	if agent != "" {
		if err := agentscope.ValidateAgentName(agent); err != nil {
			return usageError{"--agent: " + agentscope.ErrorMessage(err)}
		}
	}
	hdr, err := parseHeaders(headers)
	if err != nil {
		return usageError{err.Error()}
	}
	log := cfg.oneShotLogger(env).With("component", "proxy")

	sink, closeSink, err := openProxySink(ctx, env, cfg, to, org)
	if err != nil {
		return err
	}
	defer closeSink()
	if ls, ok := sink.(*localSink); ok && agent != "" {
		if err := ls.selfReported(ctx, agent); err != nil {
			return usageError{"--agent: " + err.Error()}
		}
	}
	rec := mcpproxy.NewRecorder(sink, mcpproxy.RecorderOptions{Log: log})

	var server mcpproxy.Conn
	if upURL != "" {
		server, err = mcpproxy.DialStreamable(ctx, upURL, hdr, nil)
	} else {
		server, err = mcpproxy.StartCommand(ctx, pos[0], pos[1:], nil, env.Stderr)
	}
	if err != nil {
		rec.Close(ctx)
		return err
	}
	runErr := mcpproxy.Run(ctx, env.Stdin, env.Stdout, server, mcpproxy.Options{Agent: agent, Recorder: rec, Log: log})
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), proxyDrainTimeout)
	stats := rec.Close(dctx)
	cancel()
	if stats.Dropped > 0 || stats.Failed > 0 {
		log.Warn("some records did not reach AgentScope", "sent", stats.Sent, "dropped", stats.Dropped, "failed", stats.Failed)
	}
	if errors.Is(runErr, context.Canceled) {
		return nil
	}
	return runErr
}

// openProxySink is where the proxy records: the remote AgentScope of --to,
// or the local store (opened as the CLI's commands open it; the outbox
// rows it writes are forwarded to Splunk by serve or a worker).
func openProxySink(ctx context.Context, env *Env, cfg Config, to, org string) (mcpproxy.Sink, func(), error) {
	if to != "" {
		if env.Getenv("AGENTSCOPE_KEY") == "" {
			return nil, nil, usageError{"--to needs AGENTSCOPE_KEY: an API key of that AgentScope with the ingest scope (agentscope keys create --org ID --name proxy --scopes ingest)"}
		}
		s, err := mcpproxy.NewRemoteSink(to, env.Getenv("AGENTSCOPE_KEY"), &http.Client{Timeout: 30 * time.Second})
		if err != nil {
			return nil, nil, usageError{"--to: " + err.Error()}
		}
		return s, func() {}, nil
	}
	if err := agentscope.ValidateOrgID(org); err != nil {
		return nil, nil, usageError{"--org: " + agentscope.ErrorMessage(err)}
	}
	cfg.LocalOrg = org
	app, octx, err := cliApp(ctx, env, "proxy", cfg, org)
	if err != nil {
		return nil, nil, err
	}
	p, err := agentscope.Caller(octx)
	if err != nil {
		app.Close()
		return nil, nil, err
	}
	return &localSink{svc: app.Service, principal: p}, func() { app.Close() }, nil
}

// parseHeaders reads --header 'Name: value' flags.
func parseHeaders(hs []string) (http.Header, error) {
	h := http.Header{}
	for _, kv := range hs {
		name, value, ok := strings.Cut(kv, ":")
		name = strings.TrimSpace(name)
		if !ok || name == "" || strings.ContainsAny(name, " \t\r\n") {
			return nil, fmt.Errorf("--header %q: want 'Name: value'", redactHeader(kv))
		}
		h.Add(name, strings.TrimSpace(value))
	}
	return h, nil
}

// redactHeader keeps a header's name for an error message, never its value
// (it may be a credential).
func redactHeader(kv string) string {
	if name, _, ok := strings.Cut(kv, ":"); ok {
		return name + ": …"
	}
	if len(kv) > 8 {
		return kv[:4] + "…"
	}
	return kv
}

// localSink records through the service into the local store, as the
// operator of the organisation (like the CLI's other commands).
type localSink struct {
	svc       *service.Service
	principal agentscope.Principal
}

func (s *localSink) ctx(ctx context.Context) context.Context {
	return agentscope.WithPrincipal(ctx, s.principal)
}

// selfReported refuses agent when it names a managed agent: its runs are
// AgentScope's own, started by a worker; the proxy records the sessions an
// MCP host runs, which report their own start.
func (s *localSink) selfReported(ctx context.Context, agent string) error {
	a, err := s.svc.GetAgent(s.ctx(ctx), agent)
	if err == nil && a.Kind == agentscope.AgentManaged {
		return fmt.Errorf("%q is a managed agent, whose runs AgentScope's workers execute; the proxy records the sessions an MCP host runs under an agent name of their own: choose another", agent)
	}
	return nil
}

func (s *localSink) StartSession(ctx context.Context, sessionID, agent string, input json.RawMessage, startedAt time.Time) error {
	_, err := s.svc.StartRun(s.ctx(ctx), service.StartRunInput{Agent: agent, Input: input, Metadata: mcpproxy.SessionMetadata(), SessionID: sessionID, StartedAt: &startedAt})
	return err
}

func (s *localSink) Record(ctx context.Context, events []json.RawMessage) error {
	results, err := s.svc.Record(s.ctx(ctx), "", events)
	if err != nil {
		return err
	}
	out := service.Tally(results)
	if out.Rejected > 0 {
		for _, r := range results {
			if !r.Accepted {
				return fmt.Errorf("%d of %d events refused; the first: %s", out.Rejected, len(results), r.Error)
			}
		}
	}
	return nil
}

func (s *localSink) EndSession(ctx context.Context, sessionID, status, errText string) error {
	_, err := s.svc.EndRun(s.ctx(ctx), service.EndRunInput{SessionID: sessionID, Status: status, Error: errText})
	return err
}
