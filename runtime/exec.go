package runtime

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	openai "github.com/sashabaranov/go-openai"

	"github.com/agentscope/agentscope"
)

// Executor executes the runs of agents whose definition names its kind
// (Spec.Kind) instead of the agent loop; the investigator is one. Execute
// returns the run's output, or an error: a permanent one (Permanentf) fails
// the run at once, any other is retried as a transient failure of the loop
// is. The run's start, retries and end are recorded by the runtime, as for
// the loop.
type Executor interface {
	Execute(ctx context.Context, x *Execution) (output any, err error)
}

// Work is what executing runs needs beyond New's options. It is given to
// Start because it is built from the services that take the runtime as
// their launcher, so it exists only after New.
type Work struct {
	// Tools returns AgentScope's own MCP server as the agents of orgID
	// reach it: its local organisation is orgID, so every tool an agent
	// calls through it is scoped to the agent's organisation by
	// construction. Nil offers agents none of AgentScope's tools (a
	// definition naming one fails its run, saying so).
	Tools func(orgID string) *mcp.Server
	// Kinds are the executors of the built-in kinds, by Spec.Kind.
	Kinds map[string]Executor
}

// Org is the organisation of the run.
func (x *Execution) Org() string { return x.org }

// SessionID is the run's session.
func (x *Execution) SessionID() string { return x.sid }

// Run is the run as it stood when this attempt began.
func (x *Execution) Run() agentscope.Run { return x.run }

// Spec is the agent's definition.
func (x *Execution) Spec() Spec { return x.spec }

// Attempt is the attempt's number, from 1.
func (x *Execution) Attempt() int { return x.attempt }

// Logger logs about the attempt.
func (x *Execution) Logger() *slog.Logger { return x.log }

// Now is the runtime's clock, in UTC to the microsecond.
func (x *Execution) Now() time.Time { return x.rt.now() }

// Record queues events of the run for commit, in order, without waiting
// (the runtime waits for them before it ends the run). Each ToolCalled
// counts as a tool call in the run's totals. It returns the journal's
// first commit error, if any: the store refuses events of a session that
// ended, which is how a cancelled run notices.
func (x *Execution) Record(evs ...agentscope.Event) error {
	for _, e := range evs {
		if e.Type == agentscope.ToolCalled {
			x.toolCalls++
		}
	}
	return x.j.add(evs...)
}

// ResolveProviders readies the definition's model providers with the
// process defaults; it fails, naming what is missing, when none has a
// model and a key.
func (x *Execution) ResolveProviders() error {
	eps, err := x.rt.resolveEndpoints(x.spec)
	if err != nil {
		return err
	}
	x.endpoints, x.current = eps, -1
	return nil
}

// LoadBudgets reads the agent's budgets, which CheckHardCaps and each
// priced model call check.
func (x *Execution) LoadBudgets(ctx context.Context) error {
	b, err := x.rt.loadRunBudgets(ctx, x.org, x.run.Agent)
	if err != nil {
		return err
	}
	x.budgets = b
	return nil
}

// ModelAnswer is a model call's answer.
type ModelAnswer struct {
	// Content is the answer's text.
	Content string
	// Model is the model that answered, as the provider named it.
	Model string
}

// CallModel makes one model call without tools (failing over between the
// providers as the loop does) and records it: ModelInvoked, ModelCompleted,
// its CostRecorded and any ProviderSwitched. format, if not nil, asks for
// structured output. ResolveProviders and LoadBudgets come first.
func (x *Execution) CallModel(ctx context.Context, span string, step int, messages []openai.ChatCompletionMessage, format *openai.ChatCompletionResponseFormat) (ModelAnswer, error) {
	x.responseFormat = format
	res, err := x.callModel(ctx, span, step, messages, nil)
	if err != nil {
		return ModelAnswer{}, err
	}
	return ModelAnswer{Content: res.content, Model: res.model}, nil
}

// permanentError is a run failure no retry can fix.
type permanentError struct{ msg string }

// Error implements error.
func (e *permanentError) Error() string { return e.msg }

// Permanentf returns a run failure no retry can fix: the run fails at once
// with the message as its reason.
func Permanentf(format string, args ...any) error {
	return &permanentError{msg: fmt.Sprintf(format, args...)}
}

// IsPermanent reports whether err is (or wraps) a failure made by
// Permanentf.
func IsPermanent(err error) bool {
	var perm *permanentError
	return errors.As(err, &perm)
}
