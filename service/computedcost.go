package service

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/pricing"
)

// A self-reported session's model calls are priced from the pricing table
// when the agent reported no cost for them: when the session ends, each
// ModelCompleted that no reported CostRecorded covers gets a CostRecorded
// computed from its tokens, marked computed (source "computed:…", attribute
// computed=true), in the same commit as SessionCompleted. A reported cost
// covers a call when it carries the call's span_id; a reported cost without
// a span_id (or with one no call has) covers the nearest uncovered call of
// its model.
//
// Why at the end and not as each call arrives: a cost computed at ingest
// could be followed by the agent's own cost for the same call, and then
// either the reported cost is refused (it must win) or the computed one is
// altered after it was acknowledged and forwarded to Splunk (acknowledged
// events are never altered). Pricing in the commit that ends the session,
// which takes no more costs afterwards, keeps "a reported cost always wins,
// and never both". The commit carries the session's last seq as read
// (AppendRequest.IfLastSeq), so a cost reported while the calls were being
// priced makes it fail and end_run prices again.
//
// Managed runs are not priced here: the runtime records their costs itself.
// An unknown model gets no computed cost (the UI says the cost is unknown
// rather than $0).

// ComputedSourcePrefix starts the source of every computed CostRecorded;
// record_event refuses a cost whose source starts with it.
const ComputedSourcePrefix = "computed:"

// endRunAttempts bounds how often end_run prices a session again because
// events kept arriving while it did.
const endRunAttempts = 5

// endRun commits SessionCompleted with the computed costs of the session's
// uncovered model calls, provided no event arrived since they were read.
// ifLastSeq, when not 0, is the session's last seq the caller judged it
// by: a session that has taken an event since is left running (ECONFLICT).
// at, when not zero, is when the session ended (its SessionCompleted's ts
// and its ended_at); else now.
func (s *Service) endRun(ctx context.Context, org string, in EndRunInput, status agentscope.RunStatus, ifLastSeq int64, at time.Time) (agentscope.Run, error) {
	ts, atp := s.now().UTC(), (*time.Time)(nil)
	if !at.IsZero() {
		ts = at.UTC()
		atp = &ts
	}
	for attempt := 1; ; attempt++ {
		run, err := s.store.GetRun(ctx, org, in.SessionID)
		if err != nil {
			return agentscope.Run{}, err
		}
		if ifLastSeq != 0 && run.EventCount != ifLastSeq {
			return agentscope.Run{}, agentscope.Errorf(agentscope.ECONFLICT, "session %q took an event since it was judged idle", in.SessionID)
		}
		var (
			costs    []agentscope.Event
			unpriced int64
		)
		if !run.Managed && !run.Status.Terminal() {
			if costs, unpriced, err = s.computedCosts(ctx, org, in.SessionID); err != nil {
				return agentscope.Run{}, err
			}
		}
		res, err := s.rec.Commit(ctx, agentscope.AppendRequest{
			OrgID: org, SessionID: in.SessionID,
			Events:    append(costs, agentscope.Event{EventID: agentscope.NewEventID(), Type: agentscope.SessionCompleted, TS: ts, Status: in.Status, Output: in.Output, Error: in.Error}),
			Update:    &agentscope.RunUpdate{Status: status, Output: in.Output, Error: in.Error, At: atp, UnpricedCalls: unpriced},
			IfLastSeq: run.EventCount,
		})
		if err == nil {
			return res.Run, nil
		}
		// An ended session (or any other refusal) is final; a session that
		// received events since it was read is priced again.
		if agentscope.ErrorCode(err) != agentscope.ECONFLICT || run.Status.Terminal() {
			return agentscope.Run{}, err
		}
		if cur, gerr := s.store.GetRun(ctx, org, in.SessionID); gerr != nil || cur.Status.Terminal() || cur.EventCount == run.EventCount {
			return agentscope.Run{}, err
		}
		if attempt == endRunAttempts {
			return agentscope.Run{}, agentscope.Errorf(agentscope.ECONFLICT, "session %q kept receiving events while end_run priced its model calls (%d attempts); call end_run again once the agent has sent its last event", in.SessionID, attempt)
		}
	}
}

// computedCosts returns the CostRecorded events to add for the session's
// uncovered model calls, and how many uncovered calls the table cannot
// price (their cost stays unknown).
func (s *Service) computedCosts(ctx context.Context, org, sessionID string) ([]agentscope.Event, int64, error) {
	table := s.pricing()
	evs, err := s.store.ListEvents(ctx, org, sessionID, agentscope.EventFilter{Types: []agentscope.EventType{agentscope.ModelCompleted, agentscope.CostRecorded}})
	if err != nil {
		return nil, 0, err
	}
	covered := map[int64]bool{} // seq of covered model calls
	bySpan := map[string]int64{}
	for _, ev := range evs {
		if ev.Type == agentscope.ModelCompleted && ev.SpanID != "" {
			bySpan[ev.SpanID] = ev.Seq
		}
	}
	have := map[string]bool{}
	var spanless []agentscope.Event
	for _, ev := range evs {
		if ev.Type != agentscope.CostRecorded {
			continue
		}
		have[ev.EventID] = true
		if strings.HasPrefix(ev.Source, ComputedSourcePrefix) {
			continue
		}
		if seq, ok := bySpan[ev.SpanID]; ok && ev.SpanID != "" {
			covered[seq] = true
			continue
		}
		// No span_id, or one no model call has: the cost is for some call
		// all the same, so it covers one rather than being counted beside
		// a computed cost for the same call.
		spanless = append(spanless, ev)
	}
	for _, c := range spanless {
		best := int64(-1)
		for _, m := range evs {
			if m.Type != agentscope.ModelCompleted || covered[m.Seq] || (c.Model != "" && c.Model != m.Model) {
				continue
			}
			if best < 0 || absDiff(m.Seq, c.Seq) < absDiff(best, c.Seq) {
				best = m.Seq
			}
		}
		if best >= 0 {
			covered[best] = true
		}
	}
	var (
		out      []agentscope.Event
		unpriced int64
	)
	for _, m := range evs {
		if m.Type != agentscope.ModelCompleted || covered[m.Seq] || have[computedCostID(m.EventID)] {
			continue
		}
		if c, ok := computedCost(table, m); ok {
			out = append(out, c)
		} else {
			unpriced++
		}
	}
	return out, unpriced, nil
}

// computedCost is the computed CostRecorded of model call m, priced from
// table; ok is false when m has no token counts to price (none reported,
// or the LLM gateway saw no usage: its cost stays unknown rather than $0),
// the table does not know its model, or the amount is out of range.
func computedCost(table *pricing.Table, m agentscope.Event) (agentscope.Event, bool) {
	if m.Type != agentscope.ModelCompleted || m.TokensIn == nil || m.TokensOut == nil {
		return agentscope.Event{}, false
	}
	for _, unknown := range []string{"usage_unknown", "tokens_unreported"} {
		if b, _ := m.Attributes[unknown].(bool); b {
			return agentscope.Event{}, false
		}
	}
	price, ok := table.Lookup(m.Provider, m.Model)
	if !ok {
		return agentscope.Event{}, false
	}
	u := pricing.Usage{InputTokens: *m.TokensIn, OutputTokens: *m.TokensOut}
	if m.CacheReadTokens != nil {
		u.CacheReadTokens = *m.CacheReadTokens
	}
	if m.CacheWriteTokens != nil {
		u.CacheWriteTokens = *m.CacheWriteTokens
	}
	amount, err := price.Cost(u)
	if err != nil || amount > agentscope.MaxEventUSD {
		return agentscope.Event{}, false // counts the table cannot price are left unpriced
	}
	return agentscope.Event{
		EventID: computedCostID(m.EventID), Type: agentscope.CostRecorded, TS: m.TS, SpanID: m.SpanID,
		AmountUSD: &amount, Currency: "USD", Provider: m.Provider, Model: m.Model,
		Source:     ComputedSourcePrefix + "agentscope-pricing/" + table.Version,
		Attributes: map[string]any{"computed": true, "model_event_id": m.EventID},
	}, true
}

// pricing is the table self-reported calls are priced from.
func (s *Service) pricing() *pricing.Table {
	if s.Pricing != nil {
		return s.Pricing
	}
	return pricing.Default()
}

func absDiff(a, b int64) int64 {
	if a > b {
		return a - b
	}
	return b - a
}

// computedCostID is the computed cost's event id, derived from the model
// call's so that ending again finds it already recorded.
func computedCostID(modelEventID string) string {
	if id := "cost:" + modelEventID; len(id) <= 128 {
		return id
	}
	sum := sha256.Sum256([]byte(modelEventID))
	return "cost:" + hex.EncodeToString(sum[:16])
}
