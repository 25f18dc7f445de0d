// Package investigator is AgentScope's investigator: a built-in managed
// agent whose run investigates another session, and the deterministic
// detectors run over sessions, on demand and live.
//
// An investigation is a run of the starter agent agentscope.InvestigatorAgent,
// whose definition has kind runtime.KindInvestigator; the runtime executes
// it with the Investigator (an Executor given to runtime.Start) instead of
// the agent loop. It reads the target's events from the store for the
// deterministic detectors, searches the evidence through an MCP server (the
// Splunk MCP server, or AgentScope's own `agentscope mcp` and its run_spl)
// with queries built only by agentscope.SessionQuery from the validated
// session id, asks the model for a report as structured output, drops every
// finding not grounded in the target's events, and stores the report.
// Without a model, or when a search fails, it fails closed: the run fails
// with the reason and the report keeps only the detectors' findings,
// labelled as such.
//
// The Watcher, a recorder observer, runs the detectors live on running
// sessions of organisations that have alert rules, checks budgets as costs
// are recorded, and queues an investigation of every run that ends badly
// (AGENTSCOPE_AUTO_INVESTIGATE).
package investigator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/alerts"
	"github.com/agentscope/agentscope/investigator/detect"
	"github.com/agentscope/agentscope/recorder"
	"github.com/agentscope/agentscope/runtime"
	"github.com/agentscope/agentscope/service"
)

// Store is what the investigator reads and writes: sessions, their runs and
// agents, and reports. *sqlstore.Store implements it.
type Store interface {
	GetRun(ctx context.Context, orgID, sessionID string) (agentscope.Run, error)
	ListRuns(ctx context.Context, orgID string, f agentscope.RunFilter) (agentscope.RunPage, error)
	ListEvents(ctx context.Context, orgID, sessionID string, f agentscope.EventFilter) ([]agentscope.Event, error)
	ScanEvents(ctx context.Context, orgID string, q agentscope.EventQuery, fn func([]agentscope.Event) (bool, error)) error
	GetAgent(ctx context.Context, orgID, name string) (agentscope.Agent, error)
	PutReport(ctx context.Context, orgID string, r agentscope.Report) error
	GetReport(ctx context.Context, orgID, sessionID string) (agentscope.Report, error)
	ListReports(ctx context.Context, orgID string, f agentscope.ReportFilter) ([]agentscope.Report, error)
}

// Runs starts the investigator's runs (*service.Service).
type Runs interface {
	StartRun(ctx context.Context, in service.StartRunInput) (agentscope.Run, error)
}

// Agents sets organisations up and reads agents' budgets, with the caller's
// organisation in ctx.
type Agents interface {
	// PrepareOrg makes sure the organisation's starter agents, the
	// investigator among them, exist.
	PrepareOrg(ctx context.Context, orgID string) error
	// GetBudgets returns the agent's budgets with their current spend.
	GetBudgets(ctx context.Context, agent string) ([]agentscope.BudgetStatus, error)
}

// Alerts raises the alerts that signals trigger under an organisation's
// rules.
type Alerts interface {
	// HasAlertRules reports whether the organisation has enabled rules:
	// without, live detection is not worth its work.
	HasAlertRules(ctx context.Context, org string) (bool, error)
	// RaiseAlerts records and queues the alerts that sigs trigger in
	// session sid, and returns how many were raised.
	RaiseAlerts(ctx context.Context, org, sid string, sigs []alerts.Signal) (int, error)
}

// Options configure an Investigator. Store, Recorder, Runs, Agents and
// Alerts are required.
type Options struct {
	Store Store
	// Recorder commits the link from an investigated session to its
	// report.
	Recorder *recorder.Recorder
	Runs     Runs
	Agents   Agents
	Alerts   Alerts
	// Evidence runs the evidence searches through an MCP server: the
	// Splunk MCP server, or AgentScope's own `agentscope mcp` over stdio.
	// Nil makes investigations fail, saying so.
	Evidence agentscope.Searcher
	// EvidenceBackend names Evidence in reports (splunk-mcp or
	// agentscope-mcp).
	EvidenceBackend string
	// SplunkIndex is the index the evidence searches and the detectors'
	// SPL name (empty: the role's default indexes).
	SplunkIndex string
	// Detect tunes the deterministic detectors (zero: their defaults).
	Detect detect.Config
	Logger *slog.Logger
	// Now is the clock of calls made outside a run (default time.Now).
	Now func() time.Time
}

// Investigator executes investigations (a runtime.Executor) and answers
// for them: queuing one, reading reports, running the detectors now.
type Investigator struct {
	opts  Options
	store Store
	log   *slog.Logger
}

var _ runtime.Executor = (*Investigator)(nil)

// New validates opts and returns the investigator.
func New(opts Options) (*Investigator, error) {
	if opts.Store == nil || opts.Recorder == nil || opts.Runs == nil || opts.Agents == nil || opts.Alerts == nil {
		return nil, errors.New("investigator: Store, Recorder, Runs, Agents and Alerts are required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Investigator{opts: opts, store: opts.Store, log: opts.Logger.With("component", "investigator")}, nil
}

func (iv *Investigator) now() time.Time { return iv.opts.Now().UTC().Truncate(time.Microsecond) }

// Investigate queues an investigation of sessionID in the caller's
// organisation as a run of the investigator and returns that run (queued)
// at once.
func (iv *Investigator) Investigate(ctx context.Context, sessionID string) (agentscope.Run, error) {
	org, err := agentscope.Authorize(ctx, agentscope.ActionInvestigate)
	if err != nil {
		return agentscope.Run{}, err
	}
	if err := iv.opts.Agents.PrepareOrg(ctx, org); err != nil {
		return agentscope.Run{}, err
	}
	if err := agentscope.ValidateSessionID(sessionID); err != nil {
		return agentscope.Run{}, err
	}
	if _, err := iv.store.GetRun(ctx, org, sessionID); err != nil {
		return agentscope.Run{}, err
	}
	a, err := iv.store.GetAgent(ctx, org, agentscope.InvestigatorAgent)
	if err != nil {
		return agentscope.Run{}, fmt.Errorf("the investigator agent: %w", err)
	}
	if spec, err := runtime.ParseSpec(a.Spec); err != nil || spec.Kind != runtime.KindInvestigator {
		return agentscope.Run{}, agentscope.Errorf(agentscope.ECONFLICT, "the agent %q is not AgentScope's investigator (its definition was replaced); restore kind \"investigator\" to investigate", agentscope.InvestigatorAgent)
	}
	input, _ := json.Marshal(InvestigateInput{SessionID: sessionID})
	return iv.opts.Runs.StartRun(ctx, service.StartRunInput{Agent: agentscope.InvestigatorAgent, Input: input,
		Metadata: map[string]string{"investigates": sessionID}})
}

// GetReport returns the report of an investigation session, or the latest
// report about an investigated session.
func (iv *Investigator) GetReport(ctx context.Context, sessionID string) (agentscope.Report, error) {
	org, err := agentscope.Authorize(ctx, agentscope.ActionRead)
	if err != nil {
		return agentscope.Report{}, err
	}
	if err := agentscope.ValidateSessionID(sessionID); err != nil {
		return agentscope.Report{}, err
	}
	return iv.store.GetReport(ctx, org, sessionID)
}

// ListReports lists the organisation's reports, newest first.
func (iv *Investigator) ListReports(ctx context.Context, f agentscope.ReportFilter) ([]agentscope.Report, error) {
	org, err := agentscope.Authorize(ctx, agentscope.ActionRead)
	if err != nil {
		return nil, err
	}
	return iv.store.ListReports(ctx, org, f)
}

// SessionFindings runs the deterministic detectors over one session now.
func (iv *Investigator) SessionFindings(ctx context.Context, sessionID string) ([]agentscope.DetectorFinding, error) {
	org, err := agentscope.Authorize(ctx, agentscope.ActionRead)
	if err != nil {
		return nil, err
	}
	if err := agentscope.ValidateSessionID(sessionID); err != nil {
		return nil, err
	}
	run, err := iv.store.GetRun(ctx, org, sessionID)
	if err != nil {
		return nil, err
	}
	evs, err := iv.sessionEvents(ctx, org, sessionID)
	if err != nil {
		return nil, err
	}
	fs, err := iv.detectSession(ctx, org, run, evs, iv.now())
	if err != nil {
		return nil, err
	}
	return toDetectorFindings(fs), nil
}
