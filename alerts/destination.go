package alerts

import (
	"net/url"
	"strings"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/internal/netguard"
)

// CheckDestination refuses a webhook URL whose host is a literal address
// (or localhost) that p does not allow, naming the host and the setting
// that would allow it; names are checked again on every connection. The
// error never repeats the URL's path or query, which may hold a token.
func CheckDestination(raw string, p netguard.Policy) error {
	if err := agentscope.ValidateWebhookURL(raw); err != nil {
		return err
	}
	u, _ := url.Parse(raw)
	if err := p.CheckHost(u.Hostname()); err != nil {
		return agentscope.FieldErrorf("url", "%s; webhooks reach only public addresses unless the operator sets AGENTSCOPE_WEBHOOK_ALLOW_PRIVATE=true or lists the network in AGENTSCOPE_WEBHOOK_ALLOW_CIDRS",
			strings.TrimPrefix(err.Error(), netguard.ErrBlocked.Error()+": "))
	}
	return nil
}
