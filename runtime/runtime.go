package runtime

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/internal/breaker"
	"github.com/agentscope/agentscope/internal/metrics"
	"github.com/agentscope/agentscope/pricing"
	"github.com/agentscope/agentscope/recorder"
)

// Options configure a Runtime. Store and Recorder are required.
type Options struct {
	// Store is the SQL store (SQLite or Postgres) runs live in; River's
	// tables go into the same database.
	Store Store
	// Pool, on Postgres, gives River dedicated LISTEN connections so
	// workers learn of new runs at once; nil means River polls.
	Pool *pgxpool.Pool
	// Recorder commits the runs' events; its store must be Store.
	Recorder *recorder.Recorder
	// AddWorkers registers more River workers on the runtime's client,
	// whose jobs share the runs' queue (alerts.AddWorkers: the alerts'
	// webhook deliveries, which alerts.Service queues through River()).
	AddWorkers func(*river.Workers) error
	// PeriodicJobs are inserted by the River leader on their schedules
	// (billing's retention pass); AddWorkers registers their workers.
	// Only a process with Workers runs them.
	PeriodicJobs []*river.PeriodicJob
	// LLM is the default provider; LLMConfigFromEnv reads it.
	LLM LLMConfig
	// Providers is the failover list of agents whose definition lists
	// none (AGENTSCOPE_LLM_PROVIDERS), each filled in from LLM as a
	// definition's are; empty: LLM alone. The LLM gateway's configured
	// upstreams are the same list.
	Providers []ProviderSpec
	// Getenv reads the environment variables definitions name for keys and
	// headers (default os.Getenv).
	Getenv func(string) string
	// Pricing prices model calls (default pricing.Default()).
	Pricing *pricing.Table
	// Workers is how many runs this process executes at once; 0 makes it
	// insert-only (start_run queues runs for workers elsewhere).
	Workers int
	// Queue is the River queue of runs (default "agent_runs").
	Queue string
	// MaxAttempts bounds the attempts of one run (default 3).
	MaxAttempts int
	// RetryBackoff is the wait before attempt n+1 after attempt n failed
	// transiently (default: 2^n seconds with ±10% jitter, at most 5 min).
	RetryBackoff func(attempt int) time.Duration
	// Breaker tunes the providers' circuit breakers.
	Breaker BreakerConfig
	// Breakers, when set, are the circuit breakers the runtime shares
	// with the other callers of the same providers in the process (the
	// LLM gateway); Breaker is then unused. Default: a set of its own.
	Breakers *breaker.Set
	// SweepInterval is how often workers look for runs whose job ended
	// without finishing them (default 1m).
	SweepInterval time.Duration
	// RunLease is how long a run stays with the worker executing it
	// without news from it (default 30s): the worker renews the lease
	// every third of it, and once a lease has lapsed another node's
	// workers take the run over as a new attempt (AGENTSCOPE_RUN_LEASE).
	// A run whose worker died is thus attempted again within about
	// RunLease and a third, whatever its timeout.
	RunLease time.Duration
	// StopTimeout is how long Close lets running runs finish before it
	// interrupts them; an interrupted run is queued again for another
	// attempt (default 20s).
	StopTimeout time.Duration
	// River, if set, adjusts River's configuration before the client is
	// built (tests shorten its rescue and poll intervals).
	River func(*river.Config)
	// HTTPClient calls model providers (default: a client without an
	// overall timeout; each call has the model timeout).
	HTTPClient *http.Client
	Logger     *slog.Logger
	// Metrics counts model calls (tokens, cost, latency) and how long runs
	// wait in the queue; nil counts nothing.
	Metrics *metrics.Metrics
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Runtime queues, admits and executes runs of managed agents. It is the
// service's Launcher.
type Runtime struct {
	opts       Options
	store      Store
	rec        *recorder.Recorder
	river      *river.Client[*sql.Tx]
	log        *slog.Logger
	tokens     *TokenHub
	breakers   *breaker.Set
	httpClient *http.Client

	// given is what Start was given: agents' tools and the built-in
	// kinds.
	given Work

	mu         sync.Mutex
	orgServers map[string]*orgServer
	active     map[string]context.CancelCauseFunc // org/session → cancel of an executing run

	stopSweep context.CancelFunc
	sweepDone chan struct{}
	leaseDone chan struct{}
	started   bool
}

// DefaultRunLease is Options.RunLease's default.
const DefaultRunLease = 30 * time.Second

// DefaultQueue is the River queue of runs.
const DefaultQueue = "agent_runs"

// New validates opts, applies River's migrations (serialised between
// processes on Postgres) and builds the River client. Start begins work.
func New(ctx context.Context, opts Options) (*Runtime, error) {
	if opts.Store == nil || opts.Recorder == nil {
		return nil, errors.New("runtime: Store and Recorder are required")
	}
	if opts.Getenv == nil {
		opts.Getenv = os.Getenv
	}
	if opts.Pricing == nil {
		opts.Pricing = pricing.Default()
	}
	if opts.Queue == "" {
		opts.Queue = DefaultQueue
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 3
	}
	if opts.RetryBackoff == nil {
		opts.RetryBackoff = defaultBackoff
	}
	if opts.SweepInterval <= 0 {
		opts.SweepInterval = time.Minute
	}
	if opts.RunLease <= 0 {
		opts.RunLease = DefaultRunLease
	}
	if opts.StopTimeout <= 0 {
		opts.StopTimeout = 20 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Workers < 0 {
		return nil, errors.New("runtime: Workers must be >= 0")
	}
	rt := &Runtime{
		opts:       opts,
		store:      opts.Store,
		rec:        opts.Recorder,
		log:        opts.Logger.With("component", "runtime"),
		tokens:     NewTokenHub(),
		breakers:   opts.Breakers,
		httpClient: opts.HTTPClient,
		orgServers: map[string]*orgServer{},
		active:     map[string]context.CancelCauseFunc{},
	}
	if rt.breakers == nil {
		rt.breakers = breaker.NewSet(opts.Breaker)
	}
	if rt.httpClient == nil {
		rt.httpClient = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}
	var driver riverdriver.Driver[*sql.Tx]
	if opts.Store.Database() == "postgres" {
		if opts.Pool != nil {
			driver = riverdatabasesql.NewWithPgxListener(opts.Store.WriteDB(), opts.Pool)
		} else {
			driver = riverdatabasesql.New(opts.Store.WriteDB())
		}
	} else {
		// SQLite: River shares the store's single writer connection, as
		// riversqlite recommends; every River statement is a write anyway.
		driver = riversqlite.New(opts.Store.WriteDB())
	}
	if err := rt.migrateRiver(ctx, driver); err != nil {
		return nil, err
	}
	workers := river.NewWorkers()
	river.AddWorker(workers, &runWorker{rt: rt})
	if opts.AddWorkers != nil {
		if err := opts.AddWorkers(workers); err != nil {
			return nil, fmt.Errorf("runtime: add workers: %w", err)
		}
	}
	cfg := &river.Config{
		Logger:               opts.Logger.With("component", "river"),
		Workers:              workers,
		MaxAttempts:          opts.MaxAttempts,
		JobTimeout:           time.Minute,
		RescueStuckJobsAfter: time.Minute,
		RetryPolicy:          retryPolicy{rt},
		FetchCooldown:        fetchCooldown(opts.Store),
		FetchPollInterval:    time.Second,
	}
	if opts.Workers > 0 {
		// Other jobs (alert deliveries) share the runs' queue: one more
		// queue would be one more poller of the database per process.
		cfg.Queues = map[string]river.QueueConfig{opts.Queue: {MaxWorkers: opts.Workers}}
		cfg.PeriodicJobs = opts.PeriodicJobs
	}
	if opts.River != nil {
		opts.River(cfg)
	}
	client, err := river.NewClient(driver, cfg)
	if err != nil {
		return nil, fmt.Errorf("runtime: river client: %w", err)
	}
	rt.river = client
	return rt, nil
}

// fetchCooldown is the least time between two fetches of a River client:
// short on Postgres, longer on SQLite, where every fetch takes the one
// writer.
func fetchCooldown(st Store) time.Duration {
	if st.Database() == "postgres" {
		return 20 * time.Millisecond
	}
	return 50 * time.Millisecond
}

// migrateRiver applies River's migrations. On Postgres a session advisory
// lock serialises processes that start together; on SQLite a racing
// process can make one step fail, so it is retried.
func (rt *Runtime) migrateRiver(ctx context.Context, driver riverdriver.Driver[*sql.Tx]) error {
	// River logs each migration at info; one summary line says as much.
	log := rt.opts.Logger.With("component", "rivermigrate")
	m, err := rivermigrate.New(driver, &rivermigrate.Config{Logger: slog.New(infoAsDebug{log.Handler()})})
	if err != nil {
		return fmt.Errorf("runtime: river migrator: %w", err)
	}
	var last error
	for range 3 {
		last = rt.store.WithSessionLock(ctx, "river-migrate", func() error {
			res, err := m.Migrate(ctx, rivermigrate.DirectionUp, nil)
			if err == nil && len(res.Versions) > 0 {
				log.Info("run queue migrations applied", "count", len(res.Versions))
			}
			return err
		})
		if last == nil {
			return nil
		}
	}
	return fmt.Errorf("runtime: migrate river: %w", last)
}

// Start, when this process has workers, starts executing runs with w and
// the sweeper. Start returns once the workers are running; Close stops
// them.
func (rt *Runtime) Start(ctx context.Context, w Work) error {
	rt.given = w
	if rt.opts.Workers == 0 {
		return nil
	}
	if err := rt.river.Start(context.WithoutCancel(ctx)); err != nil {
		return fmt.Errorf("runtime: start workers: %w", err)
	}
	sctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	rt.stopSweep, rt.sweepDone = cancel, make(chan struct{})
	rt.leaseDone = make(chan struct{})
	go rt.sweepLoop(sctx)
	go rt.leaseLoop(sctx)
	rt.started = true
	rt.log.Info("workers started", "queue", rt.opts.Queue, "workers", rt.opts.Workers)
	return nil
}

// Close stops the workers: running runs get Options.StopTimeout to finish,
// then are interrupted and queued again for another attempt.
func (rt *Runtime) Close() error {
	graceful, cancel := context.WithTimeout(context.Background(), rt.opts.StopTimeout)
	defer cancel()
	hard, hcancel := context.WithTimeout(context.Background(), rt.opts.StopTimeout+10*time.Second)
	defer hcancel()
	return rt.stop(graceful, hard)
}

// Shutdown stops the workers within ctx's deadline: running runs may
// finish until shortly before it (a quarter of the time left, at most 5s,
// is kept back), then are interrupted and queued again for another
// attempt. River gives up its leadership as it stops, so another
// process's River takes over its maintenance (rescuing jobs) at once.
func (rt *Runtime) Shutdown(ctx context.Context) error {
	graceful := ctx
	if dl, ok := ctx.Deadline(); ok {
		reserve := min(5*time.Second, time.Until(dl)/4)
		var cancel context.CancelFunc
		graceful, cancel = context.WithDeadline(ctx, dl.Add(-reserve))
		defer cancel()
	}
	return rt.stop(graceful, ctx)
}

// stop stops the sweeper and River: gracefully until graceful ends, then
// cancelling the runs still executing until hard ends.
func (rt *Runtime) stop(graceful, hard context.Context) error {
	if !rt.started {
		return nil
	}
	rt.started = false
	rt.stopSweep()
	<-rt.sweepDone
	<-rt.leaseDone
	err := rt.river.Stop(graceful)
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		err = rt.river.StopAndCancel(hard)
	}
	return err
}

// Tokens returns the hub of streamed tokens of runs executing in this
// process.
func (rt *Runtime) Tokens() *TokenHub { return rt.tokens }

// River returns the River client: alerts.Service queues deliveries with
// it, and tests and operators' tools read it.
func (rt *Runtime) River() *river.Client[*sql.Tx] { return rt.river }

// Queue is the River queue of runs, which the jobs of Options.AddWorkers
// share.
func (rt *Runtime) Queue() string { return rt.opts.Queue }

func (rt *Runtime) now() time.Time { return rt.opts.Now().UTC().Truncate(time.Microsecond) }

// defaultBackoff waits 2^attempt seconds, ±10%, at most 5 minutes.
func defaultBackoff(attempt int) time.Duration {
	d := time.Duration(1<<min(attempt, 9)) * time.Second
	d = min(d, 5*time.Minute)
	return d + time.Duration((rand.Float64()*0.2-0.1)*float64(d))
}

// retryPolicy schedules River's retries with Options.RetryBackoff.
type retryPolicy struct{ rt *Runtime }

// NextRetry implements river.ClientRetryPolicy.
func (p retryPolicy) NextRetry(job *rivertype.JobRow) time.Time {
	return time.Now().Add(p.rt.opts.RetryBackoff(job.Attempt))
}

// activeKey names an executing run.
func activeKey(org, sid string) string { return org + "\x00" + sid }

// interrupt cancels the run's context if it executes in this process.
func (rt *Runtime) interrupt(org, sid string, cause error) {
	rt.mu.Lock()
	cancel := rt.active[activeKey(org, sid)]
	rt.mu.Unlock()
	if cancel != nil {
		cancel(cause)
	}
}

// publish hands events committed outside the recorder (in Launch's and
// Cancel's transactions) to the live hub, as the recorder does for its own.
func (rt *Runtime) publish(org string, res agentscope.AppendResult) {
	appended := res.Appended()
	rt.opts.Metrics.Ingested(len(appended))
	hub := rt.rec.Hub()
	if hub == nil {
		return
	}
	hub.Publish(org, appended)
}

// infoAsDebug is a handler that logs a library's info lines at debug.
type infoAsDebug struct{ slog.Handler }

func (h infoAsDebug) Enabled(ctx context.Context, l slog.Level) bool {
	if l == slog.LevelInfo {
		l = slog.LevelDebug
	}
	return h.Handler.Enabled(ctx, l)
}

func (h infoAsDebug) Handle(ctx context.Context, r slog.Record) error {
	if r.Level == slog.LevelInfo {
		r.Level = slog.LevelDebug
	}
	return h.Handler.Handle(ctx, r)
}

func (h infoAsDebug) WithAttrs(as []slog.Attr) slog.Handler {
	return infoAsDebug{h.Handler.WithAttrs(as)}
}

func (h infoAsDebug) WithGroup(name string) slog.Handler {
	return infoAsDebug{h.Handler.WithGroup(name)}
}
