package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/client"
	"github.com/agentscope/agentscope/search"
	"github.com/agentscope/agentscope/splunkbridge"
	"github.com/agentscope/agentscope/splunkbridge/spl"
	"github.com/agentscope/agentscope/store/postgres"
	"github.com/agentscope/agentscope/store/sqlite"
	"github.com/agentscope/agentscope/store/sqlstore"
)

// sqlStoreOf returns the SQL store behind st.
func sqlStoreOf(st agentscope.Store) (*sqlstore.Store, error) {
	switch s := st.(type) {
	case *postgres.Store:
		return s.Store, nil
	case *sqlite.Store:
		return s.Store, nil
	case *sqlstore.Store:
		return s, nil
	}
	return nil, fmt.Errorf("AgentScope needs a SQL store, not %T", st)
}

// openSplunk reads the Splunk configuration (AGENTSCOPE_SPLUNK_*) and
// builds what depends on it before the recorder starts: the outbox switch
// and the HEC forwarder. With a HEC configured every process writes an
// outbox entry beside each event, so no committed event can be skipped;
// without one nothing accumulates.
func openSplunk(a *App, log *slog.Logger) error {
	cfg, err := splunkbridge.ConfigFromEnv(a.Config.env())
	if err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	a.Splunk = cfg
	ss, err := sqlStoreOf(a.Store)
	if err != nil {
		return err
	}
	ss.SetOutbox(cfg.HECEnabled())
	if !cfg.HECEnabled() {
		return nil
	}
	f, err := splunkbridge.NewForwarder(ss, cfg.HEC(), splunkbridge.WithLogger(log))
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
	backends := map[string]splunkbridge.Searcher{
		search.BackendLocal: search.Local{Engine: spl.New(a.Store, spl.Options{Index: cfg.Index})},
	}
	def := search.BackendLocal
	if cfg.MCPEnabled() {
		c, err := splunkMCPClient(cfg, log)
		if err != nil {
			return err
		}
		a.closers = append(a.closers, c.Close)
		backends[splunkbridge.BackendSplunkMCP] = search.MCPSearcher{Tool: client.NewSearcher(c, nil).Search, Scope: true}
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
	r, err := search.NewRouter(def, backends)
	if err != nil {
		return err
	}
	a.Search = r
	a.SearchTools = search.Tools{Router: r, Index: cfg.Index, Health: a.splunkHealth}
	return nil
}

// splunkMCPClient returns the client of the configured Splunk MCP server:
// spawned over stdio from AGENTSCOPE_SPLUNK_MCP_COMMAND, or reached at
// AGENTSCOPE_SPLUNK_MCP_URL with AGENTSCOPE_SPLUNK_MCP_TOKEN. It connects on
// first use and is reused across searches.
func splunkMCPClient(cfg splunkbridge.Config, log *slog.Logger) (*client.Client, error) {
	cc := client.Config{Logger: log}
	if cfg.MCPCommand != "" {
		argv, err := client.ParseCommandLine(cfg.MCPCommand)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", splunkbridge.EnvMCPCommand, err)
		}
		cc.Command, cc.Args = argv[0], argv[1:]
	} else {
		hc, err := cfg.MCPHTTPClient()
		if err != nil {
			return nil, err
		}
		cc.URL, cc.HTTPClient = cfg.MCPURL, hc
		if cfg.MCPToken != "" {
			cc.Headers = map[string]string{"Authorization": "Bearer " + cfg.MCPToken}
		}
	}
	c, err := client.New(cc)
	if err != nil {
		return nil, fmt.Errorf("splunk MCP server: %w", err)
	}
	return c, nil
}

// splunkHealth reports the forwarder, or forwarding as disabled.
func (a *App) splunkHealth(ctx context.Context) splunkbridge.HealthReport {
	if a.Forwarder == nil {
		return splunkbridge.DisabledHealth()
	}
	return a.Forwarder.Health(ctx)
}
