package stripebilling

import (
	"encoding/json"
	"testing"

	"github.com/stripe/stripe-go/v76"

	"github.com/agentscope/agentscope"
)

// FuzzParseEvent: whatever a verified webhook's payload holds, reading
// its event never panics, and a refusal is EINVALID (HTTP 400, so Stripe
// shows it), never an internal error.
func FuzzParseEvent(f *testing.F) {
	for _, seed := range []string{
		`{"id":"evt_1","type":"checkout.session.completed","created":1,"data":{"object":{"client_reference_id":"acme","customer":"cus_1","subscription":"sub_1"}}}`,
		`{"id":"evt_2","type":"customer.subscription.updated","created":2,"data":{"object":{"id":"sub_1","customer":{"id":"cus_1"},"status":"active","items":{"data":[{"price":{"id":"price_1"}}]}}}}`,
		`{"id":"evt_3","type":"invoice.payment_failed","created":3,"data":{"object":{"id":"in_1","customer":"cus_1","amount_due":10,"currency":"usd"}}}`,
		`{"id":"evt_4","type":"invoice.paid","data":{"object":{"customer":"cus_1"}}}`,
		`{"id":"evt_5","type":"customer.subscription.deleted","data":{"object":{"items":{"data":[null,{"price":null}]}}}}`,
		`{"type":"ping"}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var ev stripe.Event
		if json.Unmarshal(b, &ev) != nil {
			return // the webhook package refuses it before (ConstructEvent)
		}
		if _, err := parseEvent(ev); err != nil && agentscope.ErrorCode(err) != agentscope.EINVALID {
			t.Fatalf("parseEvent(%s): %v (%s), want EINVALID", b, err, agentscope.ErrorCode(err))
		}
	})
}
