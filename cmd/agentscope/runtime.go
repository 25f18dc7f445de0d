package main

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/internal/netguard"
	"github.com/agentscope/agentscope/pricing"
	"github.com/agentscope/agentscope/runtime"
	"github.com/agentscope/agentscope/store/postgres"
)

// defaultWorkers is how many runs one process executes at once unless
// AGENTSCOPE_WORKERS says otherwise.
const defaultWorkers = 4

// openRuntime builds the runtime that queues and executes managed agents
// over the app's store, recorder and service. Its configuration comes from
// the environment: AGENTSCOPE_LLM_BASE_URL, AGENTSCOPE_LLM_API_KEY and
// AGENTSCOPE_LLM_MODEL (or OPENAI_API_KEY and OPENAI_BASE_URL),
// AGENTSCOPE_PRICING_FILE and AGENTSCOPE_WORKERS. With --no-worker (or
// workers=false) it only queues runs.
func openRuntime(ctx context.Context, a *App, workers bool, log *slog.Logger) (*runtime.Runtime, error) {
	opts := runtime.Options{
		Recorder: a.Recorder,
		Service:  a.Service,
		LLM:      runtime.LLMConfigFromEnv(os.Getenv),
		Getenv:   os.Getenv,
		Logger:   log,
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
	switch v := a.Config.env()("AGENTSCOPE_LIVE_DETECT"); v {
	case "", "true", "1":
		opts.LiveDetect = true
	case "false", "0":
	default:
		return nil, fmt.Errorf("AGENTSCOPE_LIVE_DETECT must be true or false, got %q", v)
	}
	switch v := a.Config.env()("AGENTSCOPE_AUTO_INVESTIGATE"); v {
	case "", "false", "0":
	case "true", "1":
		opts.AutoInvestigate = true
	default:
		return nil, fmt.Errorf("AGENTSCOPE_AUTO_INVESTIGATE must be true or false, got %q", v)
	}
	if opts.AlertDelivery.Network, err = webhookNetwork(a.Config.env()); err != nil {
		return nil, err
	}
	opts.SplunkIndex = a.Splunk.Index
	if err := evidence(a, &opts, log); err != nil {
		return nil, err
	}
	opts.ExtraTools = append(opts.ExtraTools, a.SearchTools.Register)
	if path := os.Getenv("AGENTSCOPE_PRICING_FILE"); path != "" {
		t, err := pricing.LoadFile(path)
		if err != nil {
			return nil, fmt.Errorf("AGENTSCOPE_PRICING_FILE: %w", err)
		}
		opts.Pricing = t
		a.Service.Pricing = t // self-reported calls are priced from the same table
	}
	if workers {
		opts.Workers = defaultWorkers
		if v := os.Getenv("AGENTSCOPE_WORKERS"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 0 || n > 1000 {
				return nil, fmt.Errorf("AGENTSCOPE_WORKERS must be a number of concurrent runs from 0 to 1000, got %q", v)
			}
			opts.Workers = n
		}
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

// webhookNetwork reads where alert webhooks may be delivered:
// AGENTSCOPE_WEBHOOK_ALLOW_PRIVATE=true allows every address, and
// AGENTSCOPE_WEBHOOK_ALLOW_CIDRS lists networks allowed although private
// (an internal receiver); by default only public addresses.
func webhookNetwork(getenv func(string) string) (netguard.Policy, error) {
	var p netguard.Policy
	switch v := getenv("AGENTSCOPE_WEBHOOK_ALLOW_PRIVATE"); v {
	case "", "false", "0":
	case "true", "1":
		p.AllowPrivate = true
	default:
		return p, fmt.Errorf("AGENTSCOPE_WEBHOOK_ALLOW_PRIVATE must be true or false, got %q", v)
	}
	cidrs, err := netguard.ParseCIDRs(getenv("AGENTSCOPE_WEBHOOK_ALLOW_CIDRS"))
	if err != nil {
		return p, fmt.Errorf("AGENTSCOPE_WEBHOOK_ALLOW_CIDRS: %w", err)
	}
	p.Allow = cidrs
	return p, nil
}
