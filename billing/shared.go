package billing

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/agentscope/agentscope"
)

// The plans are one fact of the database, not of each process's
// configuration: the store counts and limits events by the plans published
// to the database (table billing_plans), so a process started without the
// plans file (agentscope mcp under Claude Desktop, proxy, import, a
// worker, a second serve node) counts and refuses like the one that has it.
//
// Precedence, at a process's start (Shared.Load):
//   - In a publisher (serve, worker: SharedOptions.Publish),
//     AGENTSCOPE_PLANS_FILE wins: its plans are published when the
//     database has none or different ones (the next version; a warning
//     names both versions). Any other command (export, orgs, billing, mcp,
//     proxy, import…) never publishes: with plans in the database it runs
//     with those, warning when its file differs, so a shell with an old
//     environment cannot change every organisation's limits; with none,
//     it runs with its own file's, for itself only.
//   - Otherwise the database's plans, when it has some ("billing: plans
//     from the database, published by … at …").
//   - Otherwise, with Stripe configured, the built-in plans, published.
//   - Otherwise billing is off: nothing is read or written on the append
//     path, exactly as without billing.
//
// After its start every process follows the database (Shared.Refresh,
// every RefreshInterval): plans another process published replace its
// own, a file included (it warns; restarting it publishes its file again),
// and a process that had none turns billing on. Turning on, and the first
// publication, raise the organisations' usage this period to the events
// already stored in it (SeedUsage), so billing turned on mid-month does
// not count from 0 and events a process stored before it saw the plans
// are counted.

// RefreshInterval is how often a process re-reads the plans published to
// the database: the longest another process's new plans take to apply.
const RefreshInterval = 30 * time.Second

// PlansStore is the database the plans are shared through (the SQL stores
// implement it).
type PlansStore interface {
	PublishedPlans(ctx context.Context) (agentscope.PublishedPlans, error)
	PublishPlans(ctx context.Context, plans []byte, stripe bool, by string) (agentscope.PublishedPlans, bool, error)
	SeedUsage(ctx context.Context, period string, start time.Time) (int, error)
}

// SharedOptions configure a Shared.
type SharedOptions struct {
	// Local are this process's own plans (Configure): AGENTSCOPE_PLANS_FILE's,
	// the built-in ones with Stripe, or nil.
	Local *Plans
	// File is the plans file Local came from; "" for the built-in plans.
	File string
	// Publish: this process publishes Local to the database when they
	// win (see the precedence above); without, it only reads them.
	Publish bool
	// By names this process in what it publishes (command, host, pid).
	By string
	// Logger, nil for none.
	Logger *slog.Logger
	// Now, nil for time.Now.
	Now func() time.Time
}

// Shared holds the plans this process runs with, as shared through the
// database. Plans is an atomic load: the store asks it at every group
// commit (sqlstore.Options.UsageSource).
type Shared struct {
	opts  SharedOptions
	store PlansStore
	log   *slog.Logger
	cur   atomic.Pointer[sharedState]
	// mu serialises Load and Refresh (the state they compare and swap)
	// and guards store.
	mu sync.Mutex
	// warned is the version whose refusal (bad plans) was logged, so it
	// is logged once.
	warned int64
	// offCommit: a commit asked ForCommit while billing was off, so events
	// may have been stored uncounted (SeedUsage when billing turns on).
	offCommit atomic.Bool
}

// sharedState is the plans in force and where they came from.
type sharedState struct {
	plans   *Plans // nil: billing off
	version int64  // the database's version they are; 0: none published
}

// NewShared returns the holder of this process's plans. Until Load, Plans
// are the process's own (SharedOptions.Local): the store that Load reads
// may take Plans as its usage source before it is opened.
func NewShared(opts SharedOptions) *Shared {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Shared{opts: opts, log: log}
	s.cur.Store(&sharedState{plans: opts.Local})
	return s
}

// Plans returns the plans in force: nil is billing off.
func (s *Shared) Plans() *Plans { return s.cur.Load().plans }

// ForCommit is Plans for the store's group commits
// (sqlstore.Options.UsageSource): it also notes a commit made while
// billing is off, whose events are then counted when billing turns on
// (Refresh). A process that stored nothing meanwhile (an idle agentscope
// mcp) skips that count.
func (s *Shared) ForCommit() *Plans {
	p := s.cur.Load().plans
	if p == nil && !s.offCommit.Load() {
		s.offCommit.Store(true)
	}
	return p
}

// Version returns the database version of the plans in force (0: none
// published).
func (s *Shared) Version() int64 { return s.cur.Load().version }

// Load settles the plans this process runs with at its start, from and
// to store (which Refresh reads after), publishing its own when they win
// (see the precedence above), and logs where they came from.
func (s *Shared) Load(ctx context.Context, store PlansStore) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.store = store
	pub, err := s.store.PublishedPlans(ctx)
	if err != nil {
		return err
	}
	local := s.opts.Local
	if local != nil && (s.opts.File != "" || pub.Version == 0) {
		if s.opts.Publish {
			return s.publish(ctx, local, pub)
		}
		if pub.Version == 0 {
			s.cur.Store(&sharedState{plans: local})
			s.log.Info("billing: plans from " + s.source() + ", for this process only: serve and worker publish them to the database")
			return nil
		}
		if doc, err := local.Marshal(); err == nil && (!bytes.Equal(doc, pub.Plans) || local.Stripe != pub.Stripe) {
			s.log.Warn(fmt.Sprintf("billing: %s differs from the plans in the database (version %d, published by %s at %s): this command runs with the database's and changes nothing; serve and worker publish the file when they start",
				s.source(), pub.Version, pub.PublishedBy, pub.UpdatedAt.Format(time.RFC3339)))
		}
	}
	if pub.Version == 0 {
		s.cur.Store(&sharedState{}) // billing off
		return nil
	}
	plans, err := decodePublished(pub)
	if err != nil {
		return err
	}
	s.cur.Store(&sharedState{plans: plans, version: pub.Version})
	s.log.Info(fmt.Sprintf("billing: plans from the database, published by %s at %s", pub.PublishedBy, pub.UpdatedAt.Format(time.RFC3339)),
		"version", pub.Version, "default_plan", plans.Default, "stripe", plans.Stripe)
	return nil
}

// publish publishes local, this process's plans, over pub, what the
// database has, and runs with them.
func (s *Shared) publish(ctx context.Context, local *Plans, pub agentscope.PublishedPlans) error {
	doc, err := local.Marshal()
	if err != nil {
		return err
	}
	source := s.source()
	same := pub.Version != 0 && bytes.Equal(doc, pub.Plans) && pub.Stripe == local.Stripe
	if same {
		s.cur.Store(&sharedState{plans: local, version: pub.Version})
		s.log.Info("billing: plans from "+source+", as published in the database", "version", pub.Version)
		return nil
	}
	now, changed, err := s.store.PublishPlans(ctx, doc, local.Stripe, s.opts.By)
	if err != nil {
		return err
	}
	if !changed {
		// Another process published the same plans meanwhile.
		s.cur.Store(&sharedState{plans: local, version: now.Version})
		return nil
	}
	if pub.Version != 0 {
		s.log.Warn(fmt.Sprintf("billing: %s differs from the plans in the database (version %d, published by %s at %s): the file wins, published as version %d",
			source, pub.Version, pub.PublishedBy, pub.UpdatedAt.Format(time.RFC3339), now.Version),
			"previous_version", pub.Version, "version", now.Version)
	} else {
		s.log.Info("billing: plans from "+source+" published to the database", "version", now.Version, "default_plan", local.Default)
	}
	s.cur.Store(&sharedState{plans: local, version: now.Version})
	if pub.Version == 0 {
		// Billing turns on for every process sharing the database: this
		// period's usage starts from what is already stored.
		s.seed(ctx)
	}
	return nil
}

// source names where this process's own plans come from.
func (s *Shared) source() string {
	if s.opts.File != "" {
		return "AGENTSCOPE_PLANS_FILE " + s.opts.File
	}
	return "the built-in plans (Stripe configured, no AGENTSCOPE_PLANS_FILE)"
}

// Refresh re-reads the plans published to the database and runs with
// them when they changed: another process's new plans, or billing turning
// on in a process that had none (whose usage is then raised to the events
// stored this period, its own uncounted ones included, when it committed
// any while off: ForCommit). Plans the
// database holds that do not parse are refused with an error (logged
// once) and the plans in force kept.
func (s *Shared) Refresh(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.store == nil {
		return fmt.Errorf("billing: refresh the plans before Load")
	}
	pub, err := s.store.PublishedPlans(ctx)
	if err != nil {
		return err
	}
	cur := s.cur.Load()
	if pub.Version == 0 || pub.Version == cur.version {
		return nil
	}
	plans, err := decodePublished(pub)
	if err != nil {
		if s.warned != pub.Version {
			s.warned = pub.Version
			s.log.Error("billing: the plans in the database do not parse; keeping the plans in force", "version", pub.Version, "published_by", pub.PublishedBy, "err", err)
		}
		return err
	}
	if local := s.opts.Local; local != nil && s.opts.File != "" && s.opts.Publish {
		doc, err := local.Marshal()
		if err == nil && (!bytes.Equal(doc, pub.Plans) || local.Stripe != pub.Stripe) {
			s.log.Warn(fmt.Sprintf("billing: plans version %d, published by %s at %s, replace this process's AGENTSCOPE_PLANS_FILE %s (version %d); restarting it publishes the file again",
				pub.Version, pub.PublishedBy, pub.UpdatedAt.Format(time.RFC3339), s.opts.File, cur.version))
		}
	}
	s.cur.Store(&sharedState{plans: plans, version: pub.Version})
	if cur.plans == nil {
		s.log.Info(fmt.Sprintf("billing: plans from the database, published by %s at %s", pub.PublishedBy, pub.UpdatedAt.Format(time.RFC3339)),
			"version", pub.Version, "default_plan", plans.Default, "stripe", plans.Stripe)
		if s.offCommit.Load() {
			// This process stored events uncounted before it saw the plans.
			s.seed(ctx)
		}
	} else {
		s.log.Info(fmt.Sprintf("billing: plans changed in the database, version %d to %d, published by %s at %s", cur.version, pub.Version, pub.PublishedBy, pub.UpdatedAt.Format(time.RFC3339)))
	}
	return nil
}

// Run refreshes the plans every interval until ctx ends.
func (s *Shared) Run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := s.Refresh(ctx); err != nil && ctx.Err() == nil {
				s.log.Warn("billing: re-read the plans in the database", "err", err)
			}
		}
	}
}

// seed raises this period's usage rows to the events stored in it. A
// failure is logged, not returned: the counts go on from where they are.
func (s *Shared) seed(ctx context.Context) {
	now := s.opts.Now()
	start, _ := PeriodBounds(now)
	n, err := s.store.SeedUsage(ctx, Period(now), start)
	if err != nil {
		s.log.Error("billing: count the events stored this period before billing was on", "err", err)
		return
	}
	if n > 0 {
		s.log.Info("billing: usage this period starts from the events already stored", "organisations", n, "period", Period(now))
	}
}

// decodePublished parses the plans of pub.
func decodePublished(pub agentscope.PublishedPlans) (*Plans, error) {
	plans, err := Parse(pub.Plans)
	if err != nil {
		return nil, fmt.Errorf("billing plans version %d in the database (published by %s): %w", pub.Version, pub.PublishedBy, err)
	}
	plans.Stripe = pub.Stripe
	return plans, nil
}
