package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/gateway"
	"github.com/agentscope/agentscope/identity"
	"github.com/agentscope/agentscope/oauth"
	"github.com/agentscope/agentscope/web"
)

func runServe(ctx context.Context, env *Env, args []string) error {
	var cfg Config
	if err := noArgs(env.parseFlags("serve", args, &cfg, storeFlags|httpFlags|serveSettings|workerFlags|forwardFlags, nil)); err != nil {
		return err
	}
	log := cfg.logger(env.Stderr)
	cfg.liveViews, cfg.publishPlans = true, true
	app, desc, err := openCommandApp(ctx, env, "serve", cfg, log)
	if err != nil {
		return err
	}
	defer app.Close()

	// The instance token signs in as the owner of the default organisation,
	// everywhere, as before there were keys; API keys sign in with their
	// scopes (HTTP API, its websockets and /mcp).
	instance := map[string]string{cfg.ServeToken: agentscope.DefaultOrgID}
	// MCP hosts connect to /mcp with OAuth: AgentScope is its
	// authorization server, the web UI's consent page approves them.
	authServer, err := oauth.New(app.Store, oauth.Options{Issuer: cfg.PublicURL, Logger: log})
	if err != nil {
		return fmt.Errorf("AGENTSCOPE_PUBLIC_URL: %w", err)
	}
	if cfg.CookieSecure && cfg.PublicURL == "" {
		// Behind a proxy that terminates TLS, serve sees http: MCP hosts
		// would be told an http issuer and resource and refuse them.
		log.Warn("AGENTSCOPE_COOKIE_SECURE is set but AGENTSCOPE_PUBLIC_URL is not: set it to the https URL hosts reach, or MCP hosts cannot connect with OAuth")
	}
	authn, err := identity.New(app.Store, identity.Options{InstanceTokens: instance, AccessTokens: app.Store, Memberships: app.Store, Logger: log})
	if err != nil {
		return err
	}
	accounts, flows, err := signInWith(&cfg, app, log)
	if err != nil {
		return err
	}
	// The LLM gateway records the model calls clients make through it.
	gwOpts := gatewayOptions(&cfg, log)
	gwOpts.Metrics = app.Metrics
	gwOpts.Breakers = app.Breakers // the runtime's: one state per provider
	gw := gateway.New(app.Service, gwOpts)
	// Closed before the app's store (drainServe): it ends the sessions it
	// keeps and commits what it has recorded.
	closeGateway := sync.OnceFunc(gw.Close)
	defer closeGateway()
	srv := web.New(app.Service, web.Options{
		Gateway:  gw,
		Tokens:   instance,
		Auth:     authn,
		MCP:      app.MCP.HTTPHandler(),
		OAuth:    authServer,
		Hub:      app.Hub,
		Ready:    app.ping,
		Logger:   log,
		LivePoll: cfg.LivePoll,
		// Request bodies and headers are bounded (AGENTSCOPE_HTTP_*).
		MaxBodyBytes:     cfg.HTTP.MaxBodyBytes,
		MaxInflightBytes: cfg.HTTP.MaxInflightBytes,
		StreamKeepAlive:  cfg.HTTP.StreamKeepAlive,
		// Each caller's request rate, counted after authentication.
		RateLimits: web.RateLimits{Callers: cfg.HTTP.KeyRate, Instance: cfg.HTTP.InstanceRate},
		// GET /metrics, to the instance token.
		Metrics: app.Metrics,
		UI: web.UIOptions{
			// Signing out holds across restarts and processes.
			Revocations:   app.Store,
			SecureCookies: cfg.CookieSecure,
			// People sign in as configured (AGENTSCOPE_OIDC_*, _OAUTH_*,
			// _SMTP_URL); the instance token always does.
			Accounts:     accounts,
			Flows:        flows,
			Searcher:     app.Search,
			SplunkHealth: web.HealthFunc(func(ctx context.Context) (agentscope.SplunkHealth, error) { return app.splunkHealth(ctx), nil }),
			SplunkIndex:  app.Splunk.Index,
			SessionSPL: func(sessionID string) (string, error) {
				return agentscope.SessionQuery(app.Splunk.Index, sessionID)
			},
			// The agents page and the dashboard show the runtime's budgets.
			// The signed-in session's caller is in ctx.
			// The health panel shows what the LLM gateway could not record.
			GatewayStats: gw.Stats,
			Budgets: web.BudgetFunc(func(ctx context.Context, _ string) ([]agentscope.BudgetStatus, error) {
				return app.Service.GetBudgets(ctx, "")
			}),
		},
	})
	srv.RouteRuntime(app.Runtime)
	srv.RouteSearch()
	srv.RouteInvestigations(app.Investigator)
	srv.RouteAlertRules(app.Alerts)
	srv.RouteBillingStripe(app.Stripe)

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	hs := cfg.HTTP.server(srv)
	base := "http://" + ln.Addr().String()
	fmt.Fprintf(env.Stderr, "\nAgentScope is running (%s)\n", desc)
	fmt.Fprintf(env.Stderr, "  Web UI and API: %s\n", base)
	fmt.Fprintf(env.Stderr, "  MCP endpoint:   %s/mcp\n", base)
	fmt.Fprintf(env.Stderr, "                  (hosts that speak MCP authorization connect with no token: you approve them in the web UI)\n")
	if cfg.TokenGenerated {
		fmt.Fprintf(env.Stderr, "  Token:          %s\n                  (generated now and kept in %s; it is not shown again)\n", cfg.ServeToken, cfg.tokenFile())
	} else if cfg.Token == "" {
		fmt.Fprintf(env.Stderr, "  Token:          in %s\n", cfg.tokenFile())
	}
	if hosts, err := newHostEntries(cfg, base+"/mcp"); err != nil {
		log.Warn("cannot describe MCP host configurations", "err", err)
	} else {
		fmt.Fprintln(env.Stderr, "\nConnect an MCP host to this AgentScope (the same entries: agentscope connect):")
		hosts.print(env.Stderr)
		fmt.Fprintln(env.Stderr)
	}
	stopMetrics, err := serveMetrics(env, cfg, app.Metrics, log)
	if err != nil {
		return err
	}
	defer stopMetrics()
	removeNote, err := announceServe(cfg.InstanceDir, serveNote{PID: os.Getpid(), URL: base, Store: storeIdentity(cfg), Started: time.Now().UTC()})
	if err != nil {
		log.Warn("cannot leave a note of this serve's store for stdio servers to compare", "err", err)
	}
	defer removeNote()
	if env.Routes != nil {
		env.Routes(srv.Mux().Patterns())
	}
	if env.Ready != nil {
		env.Ready(ln.Addr().String())
	}

	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	return drainServe(ctx, cfg, log, app, srv, hs, closeGateway)
}

// drainServe stops serve within AGENTSCOPE_SHUTDOWN_TIMEOUT of the signal:
// it stops accepting connections, lets requests in flight finish (an
// event acknowledged has committed), ends websockets with close code 1001
// (going away) and event streams, then stops the app's parts (forwarding
// batches in flight are answered, River stops and gives up its jobs and
// leadership, queued commits finish). closeGateway, once requests are
// done and before the app's parts, ends the LLM gateway's sessions and
// commits what it recorded. It fails if the deadline passes
// first, and the process exits non-zero.
func drainServe(ctx context.Context, cfg Config, log *slog.Logger, app *App, srv *web.Server, hs *http.Server, closeGateway func()) error {
	timeout := cfg.shutdownTimeout()
	log.Info("shutting down: draining", "timeout", timeout)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	streams := make(chan error, 1)
	go func() { streams <- srv.CloseStreams(sctx) }()
	var errs []error
	if err := hs.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		errs = append(errs, fmt.Errorf("finish requests in flight: %w", err))
	}
	if err := <-streams; err != nil {
		errs = append(errs, fmt.Errorf("close live streams: %w", err))
	}
	closeGateway()
	if err := app.Shutdown(sctx); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("shut down")
	return nil
}
