package alerts_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/agentscope/agentscope/alerts"
)

// A receiver checks each delivery's signature before trusting it.
func ExampleVerify() {
	const secret = "whsec_shown-once-at-creation"
	receiver := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		err := alerts.Verify(secret, r.Header.Get(alerts.HeaderTimestamp), body, r.Header.Get(alerts.HeaderSignature), 5*time.Minute)
		if err != nil {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		fmt.Println("verified alert", r.Header.Get(alerts.HeaderAlertID))
	})

	// What the delivery worker sends.
	body := `{"type":"agentscope.alert","id":"alert-1"}`
	ts, sig := alerts.Sign(secret, time.Now(), []byte(body))
	req := httptest.NewRequest(http.MethodPost, "/hooks/agentscope", strings.NewReader(body))
	req.Header.Set(alerts.HeaderTimestamp, ts)
	req.Header.Set(alerts.HeaderSignature, sig)
	req.Header.Set(alerts.HeaderAlertID, "alert-1")
	receiver.ServeHTTP(httptest.NewRecorder(), req)
	// Output: verified alert alert-1
}
