package spl

import (
	"context"
	"os"
	"time"

	"github.com/agentscope/agentscope"
)

// Defaults of Options.
const (
	DefaultIndex           = "agentscope"
	DefaultMaxRows         = 10000
	DefaultBatchSize       = 1000
	DefaultMaxBufferedRows = 1_000_000
	// Sourcetype is the sourcetype every event carries, as forwarded to
	// Splunk.
	Sourcetype = agentscope.Sourcetype
	// Source is the source every event carries unless it has its own
	// source field (CostRecorded events).
	Source = "agentscope"
)

// Options configure an Engine. The zero value is usable.
type Options struct {
	// Index is the index events appear in; index= terms are matched
	// against it. Default "agentscope".
	Index string
	// Host is the host field of every event. Default: the machine's
	// hostname, as the Splunk forwarder sets it.
	Host string
	// Now returns the current time, for relative times and now(). Default
	// time.Now.
	Now func() time.Time
	// MaxRows caps the rows of a result. Default 10000.
	MaxRows int
	// BatchSize is the number of events read from the store at a time.
	// Default 1000.
	BatchSize int
	// MaxBufferedRows caps what sort 0, eventstats, dedup and fillnull
	// without fields may hold in memory. Default 1,000,000.
	MaxBufferedRows int
}

// QueryOptions are the per-query settings of Run.
type QueryOptions struct {
	// EarliestTime and LatestTime bound the search with Splunk time
	// modifiers (-24h, -7d@d, now, an epoch, 11/01/2026:00:00:00). An
	// earliest= or latest= in the query overrides them. Empty means
	// unbounded.
	EarliestTime, LatestTime string
	// RowLimit caps the rows returned; 0 or more than Options.MaxRows
	// means Options.MaxRows.
	RowLimit int
}

// Result is a query's answer: the columns, in display order, and the
// rows. Numbers are int64 or float64, multivalue fields []string, _time an
// ISO 8601 string; a row has no entry for a null field.
type Result struct {
	Fields []string         `json:"fields"`
	Rows   []map[string]any `json:"rows"`
	// Truncated is true when more rows existed than the row limit.
	Truncated bool `json:"truncated,omitempty"`
}

// Engine runs SPL queries over an agentscope.Store. It is safe for
// concurrent use.
type Engine struct {
	store agentscope.Store
	opts  Options
}

// New returns an Engine over store.
func New(store agentscope.Store, opts Options) *Engine {
	if opts.Index == "" {
		opts.Index = DefaultIndex
	}
	if opts.Host == "" {
		opts.Host = "agentscope"
		if h, err := os.Hostname(); err == nil && h != "" {
			opts.Host = h
		}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxRows <= 0 {
		opts.MaxRows = DefaultMaxRows
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = DefaultBatchSize
	}
	if opts.MaxBufferedRows <= 0 {
		opts.MaxBufferedRows = DefaultMaxBufferedRows
	}
	return &Engine{store: store, opts: opts}
}

// Run parses query and runs it over the organisation's events. The
// organisation comes only from orgID, never from the query text. A query
// the engine refuses yields a *SyntaxError; exceeding a memory cap yields
// an ETOOLARGE *agentscope.Error.
func (e *Engine) Run(ctx context.Context, orgID, query string, q QueryOptions) (*Result, error) {
	if orgID == "" {
		return nil, agentscope.Errorf(agentscope.EUNAUTHORIZED, "spl: no organisation")
	}
	return e.run(ctx, orgID, query, q, storeSource{store: e.store, org: orgID})
}

// runOnEvents runs a query over an in-memory slice of events through the
// same pipeline as Run; the fuzz tests use it.
func (e *Engine) runOnEvents(ctx context.Context, orgID, query string, q QueryOptions, evs []agentscope.Event) (*Result, error) {
	return e.run(ctx, orgID, query, q, newSliceSource(evs))
}

func (e *Engine) run(ctx context.Context, orgID, query string, qo QueryOptions, src eventSource) (*Result, error) {
	parsed, err := parse(query)
	if err != nil {
		return nil, err
	}
	now := e.opts.Now().UTC()
	env := &runEnv{ctx: ctx, now: now, maxBuffered: e.opts.MaxBufferedRows}
	if env.earliest, env.latest, err = timeRange(parsed.search, qo, now); err != nil {
		return nil, err
	}
	limit := e.opts.MaxRows
	if qo.RowLimit > 0 && qo.RowLimit < limit {
		limit = qo.RowLimit
	}
	meta := &metadata{index: e.opts.Index, sourcetype: Sourcetype, source: Source, host: e.opts.Host, org: orgID}
	pd, err := planPushdown(ctx, parsed.search.expr, meta, src)
	if err != nil {
		return nil, err
	}
	head, sink, err := build(parsed, pd.residual, env, limit)
	if err != nil {
		return nil, err
	}
	if !pd.none && (env.latest.IsZero() || env.earliest.Before(env.latest)) {
		eq := pd.query
		eq.Earliest, eq.Latest, eq.BatchSize = env.earliest, env.latest, e.opts.BatchSize
		if eq.Unordered = orderFree(parsed); eq.Unordered {
			eq.Fields = projectFields(parsed)
		}
		err = src.scan(ctx, eq, func(evs []agentscope.Event) (bool, error) {
			if err := ctx.Err(); err != nil {
				return false, err
			}
			for i := range evs {
				if err := head.push(eventRow(&evs[i], meta)); err == errDone {
					return false, nil
				} else if err != nil {
					return false, err
				}
			}
			return true, nil
		})
		if err != nil {
			return nil, err
		}
	}
	if err := head.finish(); err != nil {
		return nil, err
	}
	return render(sink), nil
}

// timeRange resolves the search's time bounds: the query's earliest= and
// latest= over the options'.
func timeRange(s *searchCmd, qo QueryOptions, now time.Time) (earliest, latest time.Time, err error) {
	resolve := func(inQuery string, pos int, opt, field string) (time.Time, error) {
		if inQuery != "" {
			t, err := parseTimeModifier(inQuery, now)
			if err != nil {
				return t, syntaxErr(pos, "%v", err)
			}
			return t, nil
		}
		if opt == "" {
			return time.Time{}, nil
		}
		t, err := parseTimeModifier(opt, now)
		if err != nil {
			return t, agentscope.FieldErrorf(field, "%v", err)
		}
		return t, nil
	}
	if earliest, err = resolve(s.earliest, s.earliestPos, qo.EarliestTime, "earliest_time"); err != nil {
		return
	}
	latest, err = resolve(s.latest, s.latestPos, qo.LatestTime, "latest_time")
	return
}
