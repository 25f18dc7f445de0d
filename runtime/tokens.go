package runtime

import (
	"context"
	"sync"

	"github.com/agentscope/agentscope"
)

// Token is a piece of a model's answer as it streams in.
type Token struct {
	// SpanID is the model call's span, as in its ModelInvoked event.
	SpanID string `json:"span_id"`
	Text   string `json:"text"`
}

// TokenHub fans streamed model tokens out to live subscribers of this
// process. Tokens are deliberately ephemeral: they are not stored and do not
// cross processes (a subscriber of `agentscope serve` sees the tokens of
// runs its in-process workers execute); the answer itself is recorded in
// ModelCompleted.output when the call ends. A subscriber that falls behind
// loses tokens, never blocks the run.
type TokenHub struct {
	mu   sync.RWMutex
	subs map[string]map[chan Token]struct{}
}

// NewTokenHub returns an empty hub.
func NewTokenHub() *TokenHub { return &TokenHub{subs: map[string]map[chan Token]struct{}{}} }

// tokenBuffer bounds the tokens held for one subscriber.
const tokenBuffer = 1024

// Subscribe follows the tokens of one session until cancel is called.
func (h *TokenHub) Subscribe(orgID, sessionID string) (tokens <-chan Token, cancel func()) {
	key := orgID + "\x00" + sessionID
	ch := make(chan Token, tokenBuffer)
	h.mu.Lock()
	if h.subs[key] == nil {
		h.subs[key] = map[chan Token]struct{}{}
	}
	h.subs[key][ch] = struct{}{}
	h.mu.Unlock()
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			h.mu.Lock()
			delete(h.subs[key], ch)
			if len(h.subs[key]) == 0 {
				delete(h.subs, key)
			}
			h.mu.Unlock()
		})
	}
}

// publish delivers a token to the session's subscribers, dropping it for
// any whose buffer is full.
func (h *TokenHub) publish(orgID, sessionID string, t Token) {
	h.mu.RLock()
	defer h.mu.RUnlock()
	for ch := range h.subs[orgID+"\x00"+sessionID] {
		select {
		case ch <- t:
		default:
		}
	}
}

// StreamTokens calls fn with each token streamed by the session's model
// calls in this process, until ctx ends or fn fails. subscribed, if not
// nil, is called once the subscription is in place, before any token.
func (rt *Runtime) StreamTokens(ctx context.Context, sessionID string, subscribed func(), fn func(spanID, text string) error) error {
	org, err := agentscope.Authorize(ctx, agentscope.ActionRead)
	if err != nil {
		return err
	}
	tokens, cancel := rt.tokens.Subscribe(org, sessionID)
	defer cancel()
	if subscribed != nil {
		subscribed()
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case t := <-tokens:
			if err := fn(t.SpanID, t.Text); err != nil {
				return err
			}
		}
	}
}
