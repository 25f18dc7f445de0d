package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestWebhookToPrivateAddressRefused: through serve's API, a rule whose
// webhook is on this machine or the metadata address is refused by default
// naming the setting, and accepted with AGENTSCOPE_WEBHOOK_ALLOW_CIDRS
// listing its network; a bad setting stops serve with an error naming it.
func TestWebhookToPrivateAddressRefused(t *testing.T) {
	create := func(base, url string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("POST", base+"/api/v1/alerts/rules", strings.NewReader(`{"name":"ops","kinds":["loop"],"url":"`+url+`"}`))
		req.Header.Set("Authorization", "Bearer test-token-0123456789")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	base, stop := serveInProcess(t, []string{"AGENTSCOPE_DATA_DIR=" + t.TempDir(), "XDG_RUNTIME_DIR=" + t.TempDir()})
	for _, u := range []string{"http://127.0.0.1:9000/hook", "http://169.254.169.254/latest/meta-data/", "http://localhost/hook"} {
		if code, body := create(base, u); code != http.StatusBadRequest || !strings.Contains(body, "AGENTSCOPE_WEBHOOK_ALLOW_PRIVATE") {
			t.Errorf("%s: %d %s", u, code, body)
		}
	}
	stop()

	base, stop = serveInProcess(t, []string{"AGENTSCOPE_DATA_DIR=" + t.TempDir(), "XDG_RUNTIME_DIR=" + t.TempDir(), "AGENTSCOPE_WEBHOOK_ALLOW_CIDRS=127.0.0.0/8"})
	defer stop()
	if code, body := create(base, "http://127.0.0.1:9000/hook"); code != http.StatusCreated {
		t.Errorf("with 127.0.0.0/8 allowed: %d %s", code, body)
	}
	if code, body := create(base, "http://169.254.169.254/latest/meta-data/"); code != http.StatusBadRequest {
		t.Errorf("metadata address with only 127.0.0.0/8 allowed: %d %s", code, body)
	}
	if _, err := webhookNetwork(func(k string) string { return map[string]string{"AGENTSCOPE_WEBHOOK_ALLOW_CIDRS": "10.0.0.0/40"}[k] }); err == nil || !strings.Contains(err.Error(), "AGENTSCOPE_WEBHOOK_ALLOW_CIDRS") {
		t.Errorf("bad CIDR: %v", err)
	}
}
