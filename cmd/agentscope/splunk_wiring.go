package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/client"
	"github.com/agentscope/agentscope/investigator"
	"github.com/agentscope/agentscope/search"
	"github.com/agentscope/agentscope/service"
	"github.com/agentscope/agentscope/spl"
	"github.com/agentscope/agentscope/splunkbridge"
)

// openSplunk reads the Splunk configuration (AGENTSCOPE_SPLUNK_*) and
// builds what depends on it before the recorder starts: the outbox switch
// and the HEC forwarder. With a HEC configured every process writes an
// outbox entry beside each event, so no committed event can be skipped;
// without one nothing accumulates.
func openSplunk(a *App, log *slog.Logger) error {
	cfg := a.Config.Splunk // validated by parseFlags
	a.Splunk = cfg
	a.Store.SetOutbox(cfg.HECEnabled())
	if !cfg.HECEnabled() {
		return nil
	}
	// Batches in flight at shutdown get a third of its timeout to be
	// answered (at most the forwarder's default 10s) before they are
	// cancelled and released to the outbox.
	grace := min(10*time.Second, a.Config.shutdownTimeout()/3)
	opts := []splunkbridge.Option{splunkbridge.WithLogger(log), splunkbridge.WithStopGrace(grace), splunkbridge.WithMetrics(a.Metrics)}
	if cfg.HECLease > 0 {
		opts = append(opts, splunkbridge.WithLease(cfg.HECLease))
	}
	f, err := splunkbridge.NewForwarder(a.Store, cfg.HEC(), opts...)
	if err != nil {
		return fmt.Errorf("splunk forwarder: %w", err)
	}
	a.Forwarder = f
	return nil
}

// openSearch builds the search router: the embedded engine always, Splunk's
// REST API and a Splunk MCP server when configured. Queries go to Splunk
// when it is configured (REST first), else to the embedded engine.
func openSearch(a *App, log *slog.Logger) error {
	cfg := a.Splunk
	backends := map[string]agentscope.Searcher{
		search.BackendLocal: spl.New(a.Store, spl.Options{Index: cfg.Index}),
	}
	def := search.BackendLocal
	if cfg.MCPEnabled() {
		c, err := cfg.MCPClient(log)
		if err != nil {
			return err
		}
		a.closers = append(a.closers, closer(c.Close))
		override, err := cfg.MCPSearchOverride()
		if err != nil {
			return err
		}
		backends[splunkbridge.BackendSplunkMCP] = splunkbridge.MCPSearcher{Tool: client.NewSearcher(c, override).Search}
		def = splunkbridge.BackendSplunkMCP
	}
	if cfg.RESTEnabled() {
		rc, err := splunkbridge.NewRESTClient(cfg.REST())
		if err != nil {
			return err
		}
		a.SplunkREST = rc
		backends[splunkbridge.BackendSplunkREST] = rc
		def = splunkbridge.BackendSplunkREST
	}
	r, err := search.NewRouter(def, backends, a.Config.SPL)
	if err != nil {
		return err
	}
	a.Search = r
	a.searchOptions = service.SearchOptions{Searcher: r, DefaultBackend: def, Index: cfg.Index, Health: a.splunkHealth}
	return nil
}

// splunkHealth reports the forwarder, or forwarding as disabled.
func (a *App) splunkHealth(ctx context.Context) agentscope.SplunkHealth {
	if a.Forwarder == nil {
		return splunkbridge.DisabledHealth()
	}
	return a.Forwarder.Health(ctx)
}

// evidence chooses how the investigator searches: through the Splunk MCP
// server when one is configured, else through AgentScope's own MCP server,
// spawned over stdio per organisation (`agentscope mcp --org <org>`) on
// the same database, and its run_spl: the same client code path as with
// Splunk, a real process. AGENTSCOPE_SELF_EXECUTABLE overrides the program
// spawned (default: this executable).
func evidence(a *App, opts *investigator.Options, log *slog.Logger) error {
	if a.Splunk.MCPEnabled() {
		opts.Evidence = a.Search.On(splunkbridge.BackendSplunkMCP)
		opts.EvidenceBackend = splunkbridge.BackendSplunkMCP
		return nil
	}
	exe := a.Config.Runtime.SelfExecutable
	if exe == "" {
		var err error
		if exe, err = os.Executable(); err != nil {
			return fmt.Errorf("find this executable to spawn its MCP server for investigations: %w", err)
		}
	}
	cfg := a.Config
	dataDir, err := filepath.Abs(cfg.DataDir)
	if err != nil {
		return err
	}
	pool := &search.OrgMCP{New: func(org string) (*client.Client, error) {
		env := []string{
			"AGENTSCOPE_DATA_DIR=" + dataDir,
			"AGENTSCOPE_DATABASE_URL=" + cfg.DatabaseURL,
			"AGENTSCOPE_NO_WORKER=true",
			"AGENTSCOPE_NO_FORWARD=true",
			"AGENTSCOPE_LOG_LEVEL=warn",
			// The child answers run_spl from the store, never from Splunk;
			// the HEC settings stay, so anything it records is queued for
			// forwarding like every process's (AGENTSCOPE_NO_FORWARD: it
			// does not send).
			splunkbridge.EnvURL + "=", splunkbridge.EnvMCPCommand + "=", splunkbridge.EnvMCPURL + "=",
		}
		return client.New(client.Config{Command: exe, Args: []string{"mcp", "--org", org}, Env: env, Logger: log.With("evidence_org", org)})
	}}
	a.closers = append(a.closers, closer(pool.Close))
	opts.Evidence = pool
	opts.EvidenceBackend = search.EvidenceBackendAgentScope
	return nil
}

// splLimits reads AGENTSCOPE_SPL_TIMEOUT, AGENTSCOPE_SPL_MAX_CONCURRENT and
// AGENTSCOPE_SPL_MAX_CONCURRENT_PER_ORG; unset ones keep the defaults.
func splLimits(getenv func(string) string) (search.Limits, error) {
	l := search.DefaultLimits
	if v := getenv("AGENTSCOPE_SPL_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Millisecond || d > time.Hour {
			return l, fmt.Errorf("AGENTSCOPE_SPL_TIMEOUT must be a duration from 1ms to 1h such as 30s, got %q", v)
		}
		l.Timeout = d
	}
	for _, c := range []struct {
		name string
		n    *int
	}{{"AGENTSCOPE_SPL_MAX_CONCURRENT", &l.MaxConcurrent}, {"AGENTSCOPE_SPL_MAX_CONCURRENT_PER_ORG", &l.MaxPerOrg}} {
		if v := getenv(c.name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 10000 {
				return l, fmt.Errorf("%s must be a whole number from 1 to 10000, got %q", c.name, v)
			}
			*c.n = n
		}
	}
	return l, nil
}
