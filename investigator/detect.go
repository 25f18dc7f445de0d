package investigator

import (
	"context"
	"time"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/investigator/detect"
)

// detectConfig is the detectors' configuration: Options.Detect over
// Options.SplunkIndex.
func (iv *Investigator) detectConfig() detect.Config {
	cfg := iv.opts.Detect
	cfg.Index = iv.opts.SplunkIndex
	return cfg
}

// sessionEvents returns every event of a session in seq order.
func (iv *Investigator) sessionEvents(ctx context.Context, org, sessionID string) ([]agentscope.Event, error) {
	return iv.store.ListEvents(ctx, org, sessionID, agentscope.EventFilter{})
}

// detectSession runs the deterministic detectors over a session's events
// as they stand at now, against the agent's recent sessions and budgets.
func (iv *Investigator) detectSession(ctx context.Context, org string, run agentscope.Run, events []agentscope.Event, now time.Time) ([]detect.Finding, error) {
	base, err := iv.baseline(ctx, org, run.Agent, run.SessionID)
	if err != nil {
		return nil, err
	}
	cfg := iv.detectConfig()
	cfg.Running = !run.Status.Terminal()
	cfg.Now = now
	budgets, err := iv.opts.Agents.GetBudgets(agentscope.WithPrincipal(ctx, agentscope.SystemPrincipal(org)), run.Agent)
	if err != nil {
		return nil, err
	}
	for i := range budgets {
		// The detector adds the session's own costs.
		budgets[i].SpentUSD = max(0, budgets[i].SpentUSD-run.CostUSD)
	}
	cfg.Budgets = budgets
	return detect.Run(run.SessionID, events, base, cfg)
}

// baseline reads the agent's recent ended sessions, other than exclude.
func (iv *Investigator) baseline(ctx context.Context, org, agent, exclude string) (detect.Baseline, error) {
	page, err := iv.store.ListRuns(ctx, org, agentscope.RunFilter{Agent: agent, Limit: baselineSessions + 1})
	if err != nil {
		return detect.Baseline{}, err
	}
	var ids []string
	for _, r := range page.Runs {
		if r.SessionID != exclude && r.Status.Terminal() && len(ids) < baselineSessions {
			ids = append(ids, r.SessionID)
		}
	}
	if len(ids) == 0 {
		return detect.BuildBaseline(nil), nil
	}
	bySession := map[string][]agentscope.Event{}
	// The baseline sums and counts, so the events may come in any order.
	err = iv.store.ScanEvents(ctx, org, agentscope.EventQuery{SessionIDs: ids, BatchSize: 2000, Unordered: true}, func(b []agentscope.Event) (bool, error) {
		for _, e := range b {
			bySession[e.SessionID] = append(bySession[e.SessionID], e)
		}
		return true, nil
	})
	if err != nil {
		return detect.Baseline{}, err
	}
	sessions := make([][]agentscope.Event, 0, len(ids))
	for _, id := range ids {
		sessions = append(sessions, bySession[id])
	}
	return detect.BuildBaseline(sessions), nil
}

func toDetectorFindings(fs []detect.Finding) []agentscope.DetectorFinding {
	out := make([]agentscope.DetectorFinding, len(fs))
	for i, f := range fs {
		out[i] = f.DetectorFinding()
	}
	return out
}

// detectorRisk is the risk the detectors alone show: their highest
// severity, or low.
func detectorRisk(fs []detect.Finding) agentscope.RiskLevel {
	if s := detect.MaxSeverity(fs); s != "" {
		return s
	}
	return agentscope.RiskLow
}
