// Package investigatortest runs the investigator in tests of other
// packages: over a store and its recorder, the runtime that executes
// investigations, the service that launches runs with that runtime and the
// alert rules' service, wired and started as cmd/agentscope wires them.
package investigatortest

import (
	"context"
	"testing"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/alerts"
	"github.com/agentscope/agentscope/investigator"
	"github.com/agentscope/agentscope/recorder"
	"github.com/agentscope/agentscope/runtime"
	"github.com/agentscope/agentscope/service"
	"github.com/agentscope/agentscope/store/sqlstore"
)

// Start builds and starts the runtime (opts, with its Store and Recorder
// set to st and rec), the service over it, and the investigator searching
// its evidence through evidence, named backend in reports. The caller
// closes the runtime, before the recorder and the store.
func Start(t testing.TB, st *sqlstore.Store, rec *recorder.Recorder, opts runtime.Options, evidence agentscope.Searcher, backend string) (*service.Service, *runtime.Runtime, *investigator.Investigator) {
	t.Helper()
	ctx := context.Background()
	opts.Store, opts.Recorder = st, rec
	rt, err := runtime.New(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	svc := service.New(rec, service.Options{Launcher: rt, Agents: st})
	al, err := alerts.NewService(alerts.Options{Store: st, River: rt.River(), Queue: rt.Queue(), Hub: rec.Hub()})
	if err != nil {
		t.Fatal(err)
	}
	inv, err := investigator.New(investigator.Options{Store: st, Recorder: rec, Runs: svc, Agents: svc, Alerts: al,
		Evidence: evidence, EvidenceBackend: backend})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.PrepareOrgs(ctx); err != nil {
		t.Fatal(err)
	}
	if err := rt.Start(ctx, runtime.Work{Kinds: map[string]runtime.Executor{runtime.KindInvestigator: inv}}); err != nil {
		t.Fatal(err)
	}
	return svc, rt, inv
}
