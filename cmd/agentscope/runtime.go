package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/riverqueue/river"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/alerts"
	"github.com/agentscope/agentscope/billing"
	"github.com/agentscope/agentscope/investigator"
	"github.com/agentscope/agentscope/runtime"
	"github.com/agentscope/agentscope/store/postgres"
)

// openRuntime builds the runtime that queues and executes managed agents
// over the app's store and recorder, configured by
// Config.Runtime. With --no-worker (or workers=false) it only queues runs.
func openRuntime(ctx context.Context, a *App, workers bool, log *slog.Logger) (*runtime.Runtime, error) {
	set := a.Config.Runtime
	opts := runtime.Options{
		Recorder:  a.Recorder,
		LLM:       set.LLM,
		Providers: set.Providers,
		Getenv:    set.ProviderEnv,
		Logger:    log,
		Metrics:   a.Metrics,
		Breakers:  a.Breakers,
	}
	opts.Store = a.Store
	if p, ok := a.Store.(*postgres.Store); ok {
		opts.Pool = p.Pool()
	}
	// Alert deliveries are jobs of the runtime's River client. So are
	// Stripe's usage reports, on a schedule, with Stripe on, and with
	// billing on the retention pass and the plan-limit alerts.
	var pruner *billing.Pruner
	var limitAlerter *billing.LimitAlerter
	if a.Plans.Plans() != nil {
		pruner = billing.NewSharedPruner(a.Plans, a.Store, log)
		opts.PeriodicJobs = append(opts.PeriodicJobs, billing.RetentionJob(retentionInterval, runtime.DefaultQueue))
		limitAlerter = billing.NewLimitAlerter(a.Billing, a.Store, appAlerts{a}, log)
		opts.PeriodicJobs = append(opts.PeriodicJobs, billing.LimitAlertJob(cmp.Or(set.PlanAlertInterval, billing.DefaultLimitAlertInterval), runtime.DefaultQueue))
	}
	opts.AddWorkers = func(w *river.Workers) error {
		if err := a.Stripe.AddWorkers(w); err != nil {
			return err
		}
		if pruner != nil {
			if err := river.AddWorkerSafely(w, pruner); err != nil {
				return err
			}
		}
		if limitAlerter != nil {
			if err := river.AddWorkerSafely(w, limitAlerter); err != nil {
				return err
			}
		}
		return alerts.AddWorkers(w, alerts.Deps{Rules: a.Store, Network: set.Webhooks, Logger: log})
	}
	opts.River = func(c *river.Config) {
		c.PeriodicJobs = append(c.PeriodicJobs, a.Stripe.PeriodicJobs(cmp.Or(opts.Queue, runtime.DefaultQueue))...)
	}
	if set.Pricing != nil {
		opts.Pricing = set.Pricing
	}
	if workers {
		opts.Workers = set.Workers
	}
	opts.RunLease = set.RunLease
	rt, err := runtime.New(ctx, opts)
	if err != nil {
		return nil, err
	}
	if workers {
		switch model := cmp.Or(opts.LLM.Model, runtime.DefaultModel(opts.LLM.BaseURL)); {
		case opts.LLM.APIKey == "":
			log.Warn("no LLM API key configured: managed runs and investigations fail until AGENTSCOPE_LLM_API_KEY (or OPENAI_API_KEY) is set")
		case model == "":
			log.Warn("AGENTSCOPE_LLM_MODEL is not set and this provider has no default model: managed runs and investigations fail until it names a model the provider serves")
		default:
			log.Info("managed agents' default model", "model", model)
		}
	}
	return rt, nil
}

// retentionInterval is how often the retention pass deletes the sessions
// older than organisations' plans keep.
const retentionInterval = time.Hour

// appAlerts is the app's alert rules' service (App.Alerts) for the
// plan-limit job. River takes its workers when the runtime builds its
// client, and the alerts service queues its deliveries on that client, so
// it is built after the runtime: the job reaches it through the app, set
// before the runtime starts working jobs (runtime.Start).
type appAlerts struct{ a *App }

// RaisePlanLimitAlerts implements billing.LimitAlerts.
func (x appAlerts) RaisePlanLimitAlerts(ctx context.Context, orgName string, u agentscope.BillingUsage) (int, error) {
	if x.a.Alerts == nil {
		return 0, errors.New("plan-limit alerts: the alert rules' service is not built yet")
	}
	return x.a.Alerts.RaisePlanLimitAlerts(ctx, orgName, u)
}

// watchOptions is what the investigator's watcher does, from
// Config.Runtime (AGENTSCOPE_LIVE_DETECT, AGENTSCOPE_AUTO_INVESTIGATE).
func watchOptions(cfg Config, log *slog.Logger) investigator.WatchOptions {
	return investigator.WatchOptions{LiveDetect: cfg.Runtime.LiveDetect, AutoInvestigate: cfg.Runtime.AutoInvestigate, Logger: log}
}

// openAlerts builds the alert rules' service over the app's store, queuing
// deliveries on the runtime's River client and publishing the alerts it
// records to the live hub.
func openAlerts(a *App, rt *runtime.Runtime) (*alerts.Service, error) {
	return alerts.NewService(alerts.Options{Store: a.Store, River: rt.River(), Queue: rt.Queue(), Hub: a.Recorder.Hub(), Network: a.Config.Runtime.Webhooks, Metrics: a.Metrics})
}

// openInvestigator builds the investigator over the app's store, recorder,
// service and runtime, searching its evidence as evidence chooses.
func openInvestigator(a *App, rt *runtime.Runtime, al *alerts.Service, log *slog.Logger) (*investigator.Investigator, error) {
	opts := investigator.Options{Store: a.Store, Recorder: a.Recorder, Runs: a.Service, Agents: a.Service, Alerts: al,
		SplunkIndex: a.Splunk.Index, Logger: log}
	if err := evidence(a, &opts, log); err != nil {
		return nil, err
	}
	return investigator.New(opts)
}

// orgFlagContext returns ctx carrying the operator (agentscope.OperatorPrincipal)
// acting in the organisation a CLI command's --org names (default: the
// default organisation). An organisation that does not exist is refused,
// naming it: acting on it would read nothing, or make its rows from
// nothing.
func orgFlagContext(ctx context.Context, orgs orgGetter, org string) (context.Context, error) {
	if org == "" {
		org = agentscope.DefaultOrgID
	}
	if err := agentscope.ValidateOrgID(org); err != nil {
		return nil, usageError{"--org: " + agentscope.ErrorMessage(err)}
	}
	if _, err := orgs.GetOrg(ctx, org); agentscope.ErrorCode(err) == agentscope.ENOTFOUND {
		return nil, fmt.Errorf("--org %s: there is no such organisation (agentscope orgs list shows them; agentscope orgs create makes one)", org)
	} else if err != nil {
		return nil, err
	}
	return agentscope.WithPrincipal(ctx, agentscope.OperatorPrincipal(org)), nil
}

// orgGetter finds an organisation (the store).
type orgGetter interface {
	GetOrg(ctx context.Context, id string) (agentscope.Org, error)
}
