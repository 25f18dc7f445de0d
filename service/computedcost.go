package service

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/runtime/pricing"
)

// A self-reported session's model calls are priced from the pricing table
// when the agent reported no cost for them: when the session ends, each
// ModelCompleted that no reported CostRecorded covers gets a CostRecorded
// computed from its tokens, marked computed (source "computed:…", attribute
// computed=true), in the same commit as SessionCompleted. A reported cost
// covers a call when it carries the call's span_id; a reported cost without
// a span_id covers every call without one. Computing at the end keeps "a
// reported cost always wins, and never both": an ended session takes no more
// costs. An unknown model gets no computed cost (the UI says the cost is
// unknown rather than $0).

// ComputedSourcePrefix starts the source of every computed CostRecorded.
const ComputedSourcePrefix = "computed:"

// computedCosts returns the CostRecorded events to add for the session's
// uncovered model calls.
func (s *Service) computedCosts(ctx context.Context, org, sessionID string) ([]agentscope.Event, error) {
	table := s.Pricing
	if table == nil {
		table = pricing.Default()
	}
	evs, err := s.store.ListEvents(ctx, org, sessionID, agentscope.EventFilter{Types: []agentscope.EventType{agentscope.ModelCompleted, agentscope.CostRecorded}})
	if err != nil {
		return nil, err
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
		switch {
		case strings.HasPrefix(ev.Source, ComputedSourcePrefix):
		case ev.SpanID != "":
			if seq, ok := bySpan[ev.SpanID]; ok {
				covered[seq] = true
			}
		default:
			spanless = append(spanless, ev)
		}
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
	var out []agentscope.Event
	for _, m := range evs {
		if m.Type != agentscope.ModelCompleted || m.TokensIn == nil || m.TokensOut == nil {
			continue
		}
		if covered[m.Seq] {
			continue
		}
		id := computedCostID(m.EventID)
		if have[id] {
			continue
		}
		price, ok := table.Lookup(m.Provider, m.Model)
		if !ok {
			continue
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
			continue // counts the table cannot price are left unpriced
		}
		out = append(out, agentscope.Event{
			EventID: id, Type: agentscope.CostRecorded, TS: m.TS, SpanID: m.SpanID,
			AmountUSD: &amount, Currency: "USD", Provider: m.Provider, Model: m.Model,
			Source:     ComputedSourcePrefix + "agentscope-pricing/" + table.Version,
			Attributes: map[string]any{"computed": true, "model_event_id": m.EventID},
		})
	}
	return out, nil
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
