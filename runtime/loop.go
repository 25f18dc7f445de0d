package runtime

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/pricing"
)

// maxRecordedOutput bounds the model answer kept in ModelCompleted.output.
const maxRecordedOutput = 64 << 10

// Execution is one attempt of a run's agent loop.
type Execution struct {
	rt      *Runtime
	org     string
	sid     string
	run     agentscope.Run
	spec    Spec
	attempt int
	j       *journal
	log     *slog.Logger

	// responseFormat, if set, asks the model for structured output.
	responseFormat *openai.ChatCompletionResponseFormat

	endpoints []*endpoint
	current   int // index into endpoints of the provider in use, -1 before the first call
	budgets   *runBudgets

	modelCalls, toolCalls int
	tokensIn, tokensOut   int64
	cost                  agentscope.USD
	costUnknown           bool
}

// execute runs the loop: model call, tool calls, until the model answers
// without tools or max_steps model calls were made. It returns the final
// answer.
func (x *Execution) execute(ctx context.Context) (string, error) {
	if err := x.ResolveProviders(); err != nil {
		return "", err
	}
	if err := x.LoadBudgets(ctx); err != nil {
		return "", err
	}
	input, err := userInput(x.run.Input)
	if err != nil {
		return "", err
	}
	tb, err := x.rt.openToolbox(ctx, x.org, x.spec)
	if err != nil {
		return "", err
	}
	defer tb.close()

	messages := []openai.ChatCompletionMessage{
		{Role: openai.ChatMessageRoleSystem, Content: x.spec.SystemPrompt},
		{Role: openai.ChatMessageRoleUser, Content: input},
	}
	limit := x.spec.Limits.maxToolResultBytes()
	for step := 1; step <= x.spec.Limits.maxSteps(); step++ {
		if err := x.j.failed(); err != nil {
			return "", err
		}
		if err := x.CheckHardCaps(ctx); err != nil {
			return "", err
		}
		span := fmt.Sprintf("a%d.m%d", x.attempt, step)
		res, err := x.callModel(ctx, span, step, messages, tb.defs)
		if err != nil {
			return "", err
		}
		messages = append(messages, openai.ChatCompletionMessage{Role: openai.ChatMessageRoleAssistant, Content: res.content, ToolCalls: res.toolCalls})
		if len(res.toolCalls) == 0 {
			return res.content, x.j.failed()
		}
		for k, call := range res.toolCalls {
			content := x.callTool(ctx, fmt.Sprintf("%s.t%d", span, k+1), span, call, tb, limit)
			messages = append(messages, openai.ChatCompletionMessage{Role: openai.ChatMessageRoleTool, ToolCallID: call.ID, Content: content})
			if ctx.Err() != nil {
				return "", context.Cause(ctx)
			}
		}
	}
	return "", Permanentf("the agent made %d model calls (limits.max_steps) without a final answer", x.spec.Limits.maxSteps())
}

// userInput is the run's input as the first user message: a JSON string as
// its text, any other JSON value as its JSON.
func userInput(in json.RawMessage) (string, error) {
	if len(in) == 0 || string(in) == "null" {
		return "", Permanentf("the run has no input: start_run needs an input for a managed agent")
	}
	var s string
	if json.Unmarshal(in, &s) == nil {
		return s, nil
	}
	return string(in), nil
}

// CheckHardCaps stops the run before a model call once a hard cap is
// reached. The journal is flushed first, so the run's own latest costs
// count.
func (x *Execution) CheckHardCaps(ctx context.Context) error {
	hard := false
	for _, b := range x.budgets.budgets {
		hard = hard || b.HardCap
	}
	if !hard {
		return nil
	}
	if err := x.j.flush(ctx); err != nil {
		return err
	}
	ev, err := x.rt.hardCapReached(ctx, x.budgets, x.org)
	if err != nil || ev == nil {
		return err
	}
	x.rt.opts.Metrics.Refusal("budget_hard_cap", "model_call")
	if err := x.j.add(*ev); err != nil {
		return err
	}
	return Permanentf("%s", ev.Error)
}

// pick returns the provider for the next call: the current one while its
// breaker allows, else the first in the definition's order that is allowed
// and has not failed in this step. reason says why the current one was
// passed over.
func (x *Execution) pick(failed map[int]bool) (int, string) {
	now := x.rt.opts.Now()
	var reasons []string
	if x.current >= 0 && !failed[x.current] {
		ok, why := x.rt.breakers.Get(x.endpoints[x.current].key()).Allow(now)
		if ok {
			return x.current, ""
		}
		reasons = append(reasons, fmt.Sprintf("%s: %s", x.endpoints[x.current].name, why))
	}
	for i, e := range x.endpoints {
		if failed[i] || i == x.current {
			continue
		}
		ok, why := x.rt.breakers.Get(e.key()).Allow(now)
		if ok {
			return i, strings.Join(reasons, "; ")
		}
		reasons = append(reasons, fmt.Sprintf("%s: %s", e.name, why))
	}
	return -1, strings.Join(reasons, "; ")
}

// callModel makes one model call, failing over to the next provider on a
// transient failure, and records ModelInvoked, ModelCompleted and
// CostRecorded for each call made, and ProviderSwitched for each switch.
func (x *Execution) callModel(ctx context.Context, span string, step int, messages []openai.ChatCompletionMessage, tools []openai.Tool) (chatResult, error) {
	failed := map[int]bool{}
	var lastErr *callError
	for try := 0; try < len(x.endpoints); try++ {
		i, reason := x.pick(failed)
		if i < 0 {
			break
		}
		if lastErr != nil {
			reason = "call failed: " + lastErr.msg
		}
		if i != x.current && (x.current >= 0 || i != 0) {
			from := x.endpoints[0].name
			if x.current >= 0 {
				from = x.endpoints[x.current].name
			}
			if reason == "" {
				reason = "provider unavailable"
			}
			if err := x.j.add(agentscope.Event{Type: agentscope.ProviderSwitched, SpanID: span, Provider: x.endpoints[i].name, Model: x.endpoints[i].model, Error: reason,
				Attributes: map[string]any{"from_provider": from}}); err != nil {
				return chatResult{}, err
			}
		}
		x.current = i
		e := x.endpoints[i]
		callSpan := span
		if try > 0 {
			callSpan = fmt.Sprintf("%s.r%d", span, try)
		}
		res, cerr := x.callOnce(ctx, e, callSpan, step, messages, tools)
		if cerr == nil {
			return res, nil
		}
		if !cerr.transient {
			return chatResult{}, &permanentError{msg: cerr.msg}
		}
		failed[i], lastErr = true, cerr
	}
	if lastErr != nil {
		return chatResult{}, lastErr
	}
	_, reason := x.pick(failed)
	return chatResult{}, &callError{transient: true, msg: "no model provider is available: " + reason}
}

// callOnce calls one provider and records the call.
func (x *Execution) callOnce(ctx context.Context, e *endpoint, span string, step int, messages []openai.ChatCompletionMessage, tools []openai.Tool) (chatResult, *callError) {
	if err := x.j.add(agentscope.Event{Type: agentscope.ModelInvoked, SpanID: span, Provider: e.name, Model: e.model,
		Attributes: map[string]any{"step": step, "messages": len(messages), "tools": len(tools)}}); err != nil {
		return chatResult{}, &callError{msg: agentscope.ErrorMessage(err)}
	}
	req := openai.ChatCompletionRequest{Model: e.model, Messages: messages, Tools: tools, ResponseFormat: x.responseFormat}
	if x.spec.Temperature != nil {
		req.Temperature = float32(*x.spec.Temperature)
	}
	if n := x.spec.Limits.MaxOutputTokens; n > 0 {
		if usesMaxCompletionTokens(e.model) {
			req.MaxCompletionTokens = n
		} else {
			//lint:ignore SA1019 most OpenAI-compatible providers (Anthropic's, Ollama, vLLM) still read max_tokens only
			req.MaxTokens = n
		}
	}
	timeout := x.spec.Limits.modelTimeout()
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	br := x.rt.breakers.Get(e.key())
	start := time.Now()
	res, err := streamChat(cctx, e, req, func(text string) {
		x.rt.tokens.publish(x.org, x.sid, Token{SpanID: span, Text: text})
	})
	elapsed := time.Since(start)
	ms := float64(elapsed.Microseconds()) / 1000
	x.modelCalls++
	if err != nil {
		cerr := classifyCallError(ctx, e, err, timeout)
		x.countCall(e, e.model, false, elapsed, nil, 0, false)
		if ctx.Err() != nil {
			br.Abandon()
		} else {
			br.Failure(x.rt.opts.Now(), cerr.msg)
		}
		zero := int64(0)
		if addErr := x.j.add(agentscope.Event{Type: agentscope.ModelCompleted, SpanID: span, Provider: e.name, Model: e.model,
			DurationMS: &ms, TokensIn: &zero, TokensOut: &zero, Error: cerr.msg}); addErr != nil && ctx.Err() == nil {
			return chatResult{}, &callError{msg: agentscope.ErrorMessage(addErr)}
		}
		return chatResult{}, cerr
	}
	br.Success(x.rt.opts.Now(), elapsed)
	if err := x.recordCall(ctx, e, span, res, elapsed); err != nil {
		return chatResult{}, &callError{msg: agentscope.ErrorMessage(err)}
	}
	return res, nil
}

// recordCall records a model call that answered: ModelCompleted with the
// provider's usage, and CostRecorded priced from the table — or, for a
// model the table does not know, cost_unknown on ModelCompleted and no
// CostRecorded at all (an unknown cost is never recorded as zero).
func (x *Execution) recordCall(ctx context.Context, e *endpoint, span string, res chatResult, elapsed time.Duration) error {
	ms := float64(elapsed.Microseconds()) / 1000
	ev := agentscope.Event{Type: agentscope.ModelCompleted, SpanID: span, Provider: e.name, Model: res.model, DurationMS: &ms, FinishReason: res.finishReason}
	if res.content != "" {
		ev.Output, _ = json.Marshal(truncate(res.content, maxRecordedOutput))
	}
	attrs := map[string]any{}
	if len(res.toolCalls) > 0 {
		attrs["tool_calls"] = len(res.toolCalls)
	}
	evs := []agentscope.Event{}
	var usage pricing.Usage
	if u := res.usage; u != nil {
		usage = pricing.Usage{InputTokens: int64(u.PromptTokens), OutputTokens: int64(u.CompletionTokens)}
		if d := u.PromptTokensDetails; d != nil && d.CachedTokens > 0 {
			usage.CacheReadTokens = min(int64(d.CachedTokens), usage.InputTokens)
			ev.CacheReadTokens = &usage.CacheReadTokens
		}
		if d := u.CompletionTokensDetails; d != nil && d.ReasoningTokens > 0 {
			r := int64(d.ReasoningTokens)
			ev.ReasoningTokens = &r
		}
		ev.TokensIn, ev.TokensOut = &usage.InputTokens, &usage.OutputTokens
		x.tokensIn += usage.InputTokens
		x.tokensOut += usage.OutputTokens
	} else {
		zero := int64(0)
		ev.TokensIn, ev.TokensOut = &zero, &zero
		attrs["usage_unknown"] = true
	}
	price, known := x.rt.opts.Pricing.Lookup(e.name, res.model)
	if known && res.usage != nil {
		amount, err := price.Cost(usage)
		if err != nil {
			known = false
			attrs["cost_error"] = err.Error()
		} else {
			x.cost += amount
			attrs["cost_usd"] = json.Number(amount.String())
			evs = append(evs, agentscope.Event{Type: agentscope.CostRecorded, SpanID: span, AmountUSD: &amount, Currency: "USD",
				Provider: e.name, Model: res.model, Source: "agentscope-pricing/" + x.rt.opts.Pricing.Version})
		}
	} else {
		known = false
	}
	if !known {
		x.costUnknown = true
		attrs["cost_unknown"] = true
	}
	var cost float64
	if len(evs) > 0 {
		cost = evs[0].AmountUSD.Float()
	}
	x.countCall(e, res.model, true, elapsed, &usage, cost, known)
	if len(attrs) > 0 {
		ev.Attributes = attrs
	}
	if err := x.j.add(append([]agentscope.Event{ev}, evs...)...); err != nil {
		return err
	}
	if len(evs) > 0 && len(x.budgets.budgets) > 0 {
		if err := x.j.flush(ctx); err == nil {
			if warnings, err := x.rt.softCapsReached(ctx, x.budgets, x.org); err == nil && len(warnings) > 0 {
				_ = x.j.add(warnings...)
			}
		}
	}
	return nil
}

// callTool calls one tool the model asked for, records ToolCalled and
// ToolReturned, and returns the (bounded) content for the model.
func (x *Execution) callTool(ctx context.Context, span, parent string, call openai.ToolCall, tb *toolbox, limit int) string {
	callID := call.ID
	if callID == "" {
		callID = span
	}
	name := call.Function.Name
	called := agentscope.Event{Type: agentscope.ToolCalled, SpanID: span, ParentSpanID: parent, Tool: nonEmpty(name, "unnamed"), CallID: callID}
	args := json.RawMessage(strings.TrimSpace(call.Function.Arguments))
	if len(args) == 0 {
		args = json.RawMessage(`{}`)
	}
	argsOK := json.Valid(args) && args[0] == '{'
	if argsOK {
		called.Arguments = args
	} else {
		called.Attributes = map[string]any{"raw_arguments": truncate(call.Function.Arguments, 4096)}
	}
	_ = x.Record(called) // counts the call
	start := time.Now()
	var out toolOutcome
	if argsOK {
		out = tb.call(ctx, name, args, limit)
	} else {
		out = failedTool("the arguments are not a JSON object: "+truncate(call.Function.Arguments, 200), limit)
	}
	ms := float64(time.Since(start).Microseconds()) / 1000
	ret := agentscope.Event{Type: agentscope.ToolReturned, SpanID: span, ParentSpanID: parent, Tool: called.Tool, CallID: callID, DurationMS: &ms, Status: "ok", Result: out.result}
	if out.errText != "" {
		ret.Status, ret.Error = "error", out.errText
	}
	_ = x.j.add(ret)
	return out.forModel
}

func nonEmpty(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// totalsAttributes summarises the attempt for SessionCompleted: its model
// and tool calls and tokens, and the session's total cost (the sum of its
// CostRecorded events over all attempts).
func (x *Execution) totalsAttributes(sessionCost agentscope.USD) map[string]any {
	m := map[string]any{
		"attempt": x.attempt, "model_calls": x.modelCalls, "tool_calls": x.toolCalls,
		"tokens_in": x.tokensIn, "tokens_out": x.tokensOut,
		"cost_usd": json.Number(sessionCost.String()), "attempt_cost_usd": json.Number(x.cost.String()),
	}
	if x.costUnknown {
		m["cost_unknown"] = true
	}
	return m
}
