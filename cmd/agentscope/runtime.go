package main

import (
	"cmp"
	"context"
	"log/slog"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/runtime"
	"github.com/agentscope/agentscope/store/postgres"
)

// openRuntime builds the runtime that queues and executes managed agents
// over the app's store, recorder and service, configured by
// Config.Runtime. With --no-worker (or workers=false) it only queues runs.
func openRuntime(ctx context.Context, a *App, workers bool, log *slog.Logger) (*runtime.Runtime, error) {
	set := a.Config.Runtime
	opts := runtime.Options{
		Recorder:        a.Recorder,
		Service:         a.Service,
		LLM:             set.LLM,
		Getenv:          set.ProviderEnv,
		Logger:          log,
		LiveDetect:      set.LiveDetect,
		AutoInvestigate: set.AutoInvestigate,
	}
	ss, err := sqlStoreOf(a.Store)
	if err != nil {
		return nil, err
	}
	opts.Store = ss
	if p, ok := a.Store.(*postgres.Store); ok {
		opts.Pool = p.Pool()
	}
	opts.Searcher = a.Search
	opts.AlertDelivery.Network = set.Webhooks
	opts.SplunkIndex = a.Splunk.Index
	if err := evidence(a, &opts, log); err != nil {
		return nil, err
	}
	opts.ExtraTools = append(opts.ExtraTools, a.SearchTools.Register)
	if set.Pricing != nil {
		opts.Pricing = set.Pricing
		a.Service.Pricing = set.Pricing // self-reported calls are priced from the same table
	}
	if workers {
		opts.Workers = set.Workers
	}
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

// orgFlagContext returns ctx carrying the organisation a CLI command acts
// for.
func orgFlagContext(ctx context.Context, org string) context.Context {
	if org == "" {
		org = agentscope.DefaultOrgID
	}
	return agentscope.WithOrg(ctx, org)
}
