package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/alerts"
	"github.com/agentscope/agentscope/billing"
	"github.com/agentscope/agentscope/billing/stripebilling"
	"github.com/agentscope/agentscope/internal/breaker"
	"github.com/agentscope/agentscope/internal/metrics"
	"github.com/agentscope/agentscope/investigator"
	"github.com/agentscope/agentscope/mcpserver"
	"github.com/agentscope/agentscope/recorder"
	"github.com/agentscope/agentscope/runtime"
	"github.com/agentscope/agentscope/search"
	"github.com/agentscope/agentscope/service"
	"github.com/agentscope/agentscope/splunkbridge"
	"github.com/agentscope/agentscope/store/postgres"
	"github.com/agentscope/agentscope/store/postgres/pghub"
	"github.com/agentscope/agentscope/store/sqlite"
	"github.com/agentscope/agentscope/store/sqlstore"
)

// App is one AgentScope process's parts, opened from a Config and closed in
// reverse order. Tests boot it on port :0 with a temp dir.
type App struct {
	Config   Config
	Log      *slog.Logger
	Store    appStore
	Hub      recorder.Hub
	Recorder *recorder.Recorder
	Service  *service.Service
	MCP      *mcpserver.Server
	// Runtime queues managed agents' runs and, unless --no-worker,
	// executes them in this process.
	Runtime *runtime.Runtime
	// Alerts keeps the alert rules and raises the alerts signals trigger.
	Alerts *alerts.Service
	// Investigator queues investigations, executes them (as the runtime's
	// executor of the investigator kind) and reads their reports.
	Investigator *investigator.Investigator
	// Splunk is the Splunk configuration (AGENTSCOPE_SPLUNK_*).
	Splunk splunkbridge.Config
	// Forwarder sends events to Splunk's HEC; nil without a HEC.
	Forwarder *splunkbridge.Forwarder
	// SplunkREST is Splunk's management API client; nil without one.
	SplunkREST *splunkbridge.RESTClient
	// Search routes SPL to the embedded engine or Splunk; the service's
	// search calls use it.
	Search *search.Router
	// Billing is the organisations' plans and limits; with billing off
	// (no plans file, no Stripe, none published to the database) it
	// allows everything and reads nothing.
	Billing *billing.Service
	// Plans are the billing plans this process runs with, shared through
	// the database (billing.Shared); Plans.Plans() is nil with billing off.
	Plans *billing.Shared
	// Stripe is billing's Stripe side; without AGENTSCOPE_STRIPE_SECRET_KEY
	// every call of it answers that billing is not configured.
	Stripe *stripebilling.Service
	// Metrics counts what this process does, for /metrics.
	Metrics *metrics.Metrics
	// Breakers are the model providers' circuit breakers, shared by the
	// runtime's runs and the LLM gateway: a provider failing for one is
	// skipped by both.
	Breakers *breaker.Set

	// searchOptions configure the service's search (openSearch).
	searchOptions service.SearchOptions

	// watcher is the recorder's observer that detects live and
	// investigates automatically; Start gives it the investigator, which
	// is built after the recorder.
	watcher *investigator.Watcher

	ping func(context.Context) error
	// closers stop the parts, run in reverse order by Shutdown; each
	// gets the shutdown's context, which only the runtime needs.
	closers []func(context.Context) error
	// shutOnce runs the closers once; shutDone is closed after, with
	// shutErr their error.
	shutOnce sync.Once
	shutDone chan struct{}
	shutErr  error
	// shutting is set once Shutdown has begun (shutDone is made).
	shutting atomic.Bool
}

// closer adapts a part's Close (or Stop) that needs no deadline.
func closer(f func() error) func(context.Context) error {
	return func(context.Context) error { return f() }
}

// openStore opens the configured store, applies migrations and settles
// the billing plans it counts and limits events by (billing.Shared: this
// process's plans file, or those published to the database, or none),
// logging where they came from on log.
func openStore(ctx context.Context, cfg Config, log *slog.Logger) (appStore, *billing.Shared, func(context.Context) error, string, error) {
	st, shared, ping, desc, err := openStoreOnly(ctx, cfg, log)
	if err != nil {
		return nil, nil, nil, "", err
	}
	if err := shared.Load(ctx, st); err != nil {
		st.Close()
		return nil, nil, nil, "", err
	}
	return st, shared, ping, desc, nil
}

// openStoreOnly is openStore before the plans are loaded.
func openStoreOnly(ctx context.Context, cfg Config, log *slog.Logger) (appStore, *billing.Shared, func(context.Context) error, string, error) {
	if err := privateDir(cfg.DataDir); err != nil {
		return nil, nil, nil, "", err
	}
	key, previous := cfg.SecretKey, cfg.PreviousSecretKeys
	if key == nil { // a Config not from parseFlags (tests)
		var err error
		if key, err = cfg.loadSecretKey(); err != nil {
			return nil, nil, nil, "", err
		}
		if previous, err = cfg.loadPreviousSecretKeys(); err != nil {
			return nil, nil, nil, "", err
		}
	}
	red, err := cfg.redactor()
	if err != nil {
		return nil, nil, nil, "", err
	}
	opts := sqlstore.Options{SecretKey: key, PreviousSecretKeys: previous, Redactor: red}
	plans, err := cfg.plans()
	if err != nil {
		return nil, nil, nil, "", err
	}
	shared := billing.NewShared(billing.SharedOptions{Local: plans, File: cfg.env()("AGENTSCOPE_PLANS_FILE"), Publish: cfg.publishPlans, By: publisher(), Logger: log})
	// Appends count and limit events while the shared plans exist (from
	// this process's file, or published by another process), and do no
	// billing work at all while there are none.
	opts.UsageSource = func() sqlstore.UsagePolicy {
		if p := shared.ForCommit(); p != nil {
			return p
		}
		return nil
	}
	if cfg.DatabaseURL != "" {
		s, err := postgres.Open(ctx, cfg.DatabaseURL, opts)
		if err != nil {
			return nil, nil, nil, "", err
		}
		return s, shared, func(ctx context.Context) error { return s.Pool().Ping(ctx) }, "PostgreSQL", nil
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, nil, nil, "", fmt.Errorf("create data dir %s: %w", cfg.DataDir, err)
	}
	path := filepath.Join(cfg.DataDir, "agentscope.db")
	s, err := sqlite.Open(ctx, path, opts)
	if err != nil {
		return nil, nil, nil, "", err
	}
	return s, shared, func(ctx context.Context) error { return s.ReadDB().PingContext(ctx) }, "SQLite at " + path, nil
}

// publisher names this process in the billing plans it publishes: its
// command line's first word and subcommand, host and process id.
func publisher() string {
	host, _ := os.Hostname()
	cmd := "agentscope"
	if len(os.Args) > 1 {
		cmd += " " + os.Args[1]
	}
	return fmt.Sprintf("%s on %s (pid %d)", cmd, cmp.Or(host, "an unknown host"), os.Getpid())
}

// privateDir creates the data dir 0700, or tightens an existing one to
// 0700: it holds the token, the secret key and (SQLite) every event.
func privateDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create data dir %s: %w", dir, err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("data dir %s: %w", dir, err)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		if err := os.Chmod(dir, 0o700); err != nil {
			return fmt.Errorf("make data dir %s private (0700): %w", dir, err)
		}
	}
	return nil
}

// OpenApp opens the store and builds the recorder, service and MCP server.
func OpenApp(ctx context.Context, cfg Config, log *slog.Logger) (*App, string, error) {
	a := &App{Config: cfg, Log: log}
	st, shared, ping, desc, err := openStore(ctx, cfg, log)
	if err != nil {
		return nil, "", err
	}
	a.Store, a.Plans, a.ping = st, shared, ping
	a.closers = append(a.closers, closer(st.Close))
	// Plans another process publishes apply here within RefreshInterval.
	refreshCtx, stopRefresh := context.WithCancel(context.WithoutCancel(ctx))
	refreshed := make(chan struct{})
	go func() { defer close(refreshed); shared.Run(refreshCtx, billing.RefreshInterval) }()
	a.closers = append(a.closers, closer(func() error { stopRefresh(); <-refreshed; return nil }))
	a.Metrics = openMetrics(a, log)
	a.Breakers = breaker.NewSet(breaker.Config{})
	// This process's key must open the secrets other processes sealed;
	// secrets stored before they were sealed at rest are sealed now.
	if sealer, ok := st.(interface {
		CheckSecretKey(context.Context) error
		SealSecrets(context.Context) (int, error)
	}); ok {
		if err := sealer.CheckSecretKey(ctx); err != nil {
			a.Close()
			return nil, "", err
		}
		n, err := sealer.SealSecrets(ctx)
		if err != nil {
			a.Close()
			return nil, "", err
		}
		if n > 0 {
			log.Info("sealed alert rule secrets under the current key (stored in plain text, or under AGENTSCOPE_SECRET_KEY_PREVIOUS)", "count", n)
		}
	}
	// SQLite has one writer. On Postgres a commit is two round trips (see
	// sqlstore.Pipe); a second commit in flight overlaps one batch's
	// encoding with another's round trips, which batch ingest gains from
	// (8 writers of 500 events: 20-26k events/s with one, 30-36k with two),
	// and the recorder starts it only for a backlog (ParallelEvents), so
	// small requests still share one commit.
	committers := 1
	if cfg.DatabaseURL != "" {
		committers = 2
	}
	if err := openSplunk(a, log); err != nil {
		a.Close()
		return nil, "", err
	}
	a.watcher = investigator.NewWatcher(watchOptions(cfg, log))
	observers := []func(string, []agentscope.Event){a.watcher.Observe}
	if a.Forwarder != nil {
		observers = append(observers, func(string, []agentscope.Event) { a.Forwarder.Notify() })
	}
	a.Hub = recorder.NewMemHub()
	if ps, ok := st.(*postgres.Store); ok {
		// Several processes share the database: NOTIFY wakes the others'
		// live subscribers at once (the store poll stays the backstop).
		hub, err := pghub.New(ps.Pool(), pghub.Options{Logger: log, PublishOnly: !cfg.liveViews})
		if err == nil {
			err = hub.Start(ctx)
		}
		if err != nil {
			a.Close()
			return nil, "", err
		}
		a.closers = append(a.closers, closer(hub.Close))
		a.Hub = hub
	}
	a.Recorder = recorder.New(st, recorder.Options{Hub: a.Hub, Committers: committers, Logger: log, Observers: observers, Metrics: a.Metrics})
	a.closers = append(a.closers, closer(a.Recorder.Close))
	if err := openSearch(a, log); err != nil {
		a.Close()
		return nil, "", err
	}
	if a.Stripe, err = openStripe(a, log); err != nil {
		a.Close()
		return nil, "", err
	}
	// Billing before the runtime: its plan-limit job is one of the
	// runtime's River workers. With no plans (billing off) the service
	// reads and refuses nothing; it follows the shared plans, so billing
	// turned on by another process applies here too.
	a.Billing = billing.NewSharedService(a.Plans, a.Store, a.Metrics)
	rt, err := openRuntime(ctx, a, !cfg.NoWorker, log)
	if err != nil {
		a.Close()
		return nil, "", err
	}
	a.Runtime = rt
	a.closers = append(a.closers, rt.Shutdown)
	// The service takes the runtime as its launcher: it is built after
	// the runtime, which needs only the recorder.
	svcOpts := service.Options{Logger: log, Launcher: rt, Agents: a.Store, Audit: a.Store, OAuthGrants: a.Store, Keys: a.Store, Orgs: a.Store, Idle: a.Store}
	svcOpts.Billing, svcOpts.Metrics = a.Billing, a.Metrics
	a.Service = service.New(a.Recorder, svcOpts)
	a.Service.Search = a.searchOptions
	a.Service.Pricing = cfg.Runtime.Pricing // self-reported calls are priced from the runtime's table
	if a.Alerts, err = openAlerts(a, rt); err != nil {
		a.Close()
		return nil, "", err
	}
	inv, err := openInvestigator(a, rt, a.Alerts, log)
	if err != nil {
		a.Close()
		return nil, "", err
	}
	a.Investigator = inv
	mcpOptions := func(local agentscope.Principal) mcpserver.Options {
		return mcpserver.Options{Local: local, Logger: log, Investigations: inv, AlertRules: a.Alerts, Metrics: a.Metrics}
	}
	// The stdio server (agentscope mcp) acts as the operator, who holds the
	// data dir; over HTTP each request's caller is authenticated.
	a.MCP = mcpserver.New(a.Service, mcpOptions(agentscope.OperatorPrincipal(cmp.Or(cfg.LocalOrg, agentscope.DefaultOrgID))))
	a.closers = append(a.closers, closer(func() error { a.MCP.Close(); return nil }))
	if err := a.Service.PrepareOrgs(ctx); err != nil {
		a.Close()
		return nil, "", err
	}
	err = rt.Start(ctx, runtime.Work{
		// Agents reach AgentScope's tools as a server of their own
		// organisation, as members: never administrators.
		Tools: func(org string) *mcp.Server {
			return mcpserver.New(a.Service, mcpOptions(agentscope.ManagedAgentPrincipal(org))).MCP
		},
		Kinds: map[string]runtime.Executor{runtime.KindInvestigator: inv},
	})
	if err != nil {
		a.Close()
		return nil, "", err
	}
	a.watcher.Start(ctx, inv)
	a.closers = append(a.closers, closer(func() error { a.watcher.Stop(); return nil }))
	if a.Forwarder != nil && !cfg.NoForward {
		// It forwards until Shutdown stops it (after serve's requests in
		// flight have committed), not until the signal that begins it.
		if err := a.Forwarder.Start(context.WithoutCancel(ctx)); err != nil {
			a.Close()
			return nil, "", err
		}
		a.closers = append(a.closers, closer(func() error { a.Forwarder.Stop(); return nil }))
	}
	if cfg.CaptureIdle > 0 || cfg.Gateway.IdleTimeout > 0 {
		stop := sweepIdleSessions(ctx, a.Service, map[string]time.Duration{"otlp": cfg.CaptureIdle, "gateway": cfg.Gateway.IdleTimeout}, log)
		a.closers = append(a.closers, closer(func() error { stop(); return nil }))
	}
	return a, desc, nil
}

// Close stops the parts in reverse order within the shutdown timeout
// (AGENTSCOPE_SHUTDOWN_TIMEOUT): in-flight commits finish before the store
// closes.
func (a *App) Close() error {
	if a.shutting.Load() {
		// A drain (serve, worker) already ran, within its deadline:
		// what it did not finish is not waited for again.
		select {
		case <-a.shutDone:
			return a.shutErr
		default:
			return nil
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), a.Config.shutdownTimeout())
	defer cancel()
	return a.Shutdown(ctx)
}

// Shutdown stops the parts in reverse order: the forwarder finishes the
// batches it is sending and releases the rest of what it leased, running
// runs finish (or, near ctx's deadline, are interrupted and queued again),
// queued commits finish, then the store closes. It returns when they have,
// or with an error once ctx ends first.
func (a *App) Shutdown(ctx context.Context) error {
	a.shutOnce.Do(func() {
		a.shutDone = make(chan struct{})
		go func() {
			defer close(a.shutDone)
			for i := len(a.closers) - 1; i >= 0; i-- {
				a.shutErr = errors.Join(a.shutErr, a.closers[i](ctx))
			}
		}()
		a.shutting.Store(true)
	})
	select {
	case <-a.shutDone:
		return a.shutErr
	case <-ctx.Done():
		return fmt.Errorf("shutdown did not finish within its deadline (AGENTSCOPE_SHUTDOWN_TIMEOUT): %w", ctx.Err())
	}
}

// servePprof serves net/http/pprof on an address; nil unless the binary is
// built with the pprof tag (pprof.go).
var servePprof func(addr string)

// openCommandApp opens the app for a command and says on stderr, in one
// line, which data dir and store it opened: an MCP host's log then shows at
// once where a stdio server records. A process other than serve also warns
// when a running serve uses another store.
func openCommandApp(ctx context.Context, env *Env, name string, cfg Config, log *slog.Logger) (*App, string, error) {
	if servePprof != nil && cfg.PprofAddr != "" {
		servePprof(cfg.PprofAddr)
	}
	// Whether this open creates the per-user default database.
	_, statErr := os.Stat(filepath.Join(cfg.DataDir, "agentscope.db"))
	creates := cfg.DatabaseURL == "" && cfg.DataDir == cfg.homeDataDir && errors.Is(statErr, fs.ErrNotExist)
	app, desc, err := OpenApp(ctx, cfg, log)
	if err != nil {
		return nil, "", err
	}
	fmt.Fprintf(env.Stderr, "agentscope %s: data dir %s, store %s\n", name, cfg.DataDir, desc)
	if creates {
		// Before the per-user default, ./data was the default: when the
		// new default starts empty, say where an earlier install's
		// sessions are rather than seem to lose them (once: not on every
		// command of someone who chose the new default).
		if _, err := os.Stat(filepath.Join("data", "agentscope.db")); err == nil {
			old, _ := filepath.Abs("data")
			fmt.Fprintf(env.Stderr, "agentscope %s: note: %s holds an AgentScope database from an earlier version, whose default data dir was ./data; set AGENTSCOPE_DATA_DIR=%s to keep using it\n", name, old, old)
		}
	}
	if name != "serve" {
		if w := storeMismatch(cfg.InstanceDir, storeIdentity(cfg)); w != "" {
			log.Warn(w)
			if !log.Enabled(ctx, slog.LevelWarn) {
				fmt.Fprintf(env.Stderr, "agentscope %s: warning: %s\n", name, w)
			}
		}
	}
	return app, desc, nil
}
