// Package netguard decides which network addresses AgentScope may reach on
// behalf of a user-supplied URL (a webhook), so that a URL cannot turn the
// server into a proxy to its own host or network (server-side request
// forgery): loopback, private, link-local (169.254.0.0/16, fe80::/10, the
// cloud metadata address among them), unique-local, carrier-grade NAT,
// unspecified and multicast addresses are refused unless the operator
// allows them. The check runs on every address a name resolves to, when
// the connection is made (a net.Dialer Control hook), so a name that
// resolves to a public address when the URL is saved and a private one
// later (DNS rebinding) is still refused.
package netguard

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"syscall"
	"time"
)

// Policy is what outbound requests may reach. The zero Policy refuses
// every non-public address.
type Policy struct {
	// AllowPrivate allows every address (AGENTSCOPE_WEBHOOK_ALLOW_PRIVATE).
	AllowPrivate bool
	// Allow lists networks allowed although not public
	// (AGENTSCOPE_WEBHOOK_ALLOW_CIDRS), for an internal receiver.
	Allow []netip.Prefix
}

// ErrBlocked is wrapped by every refusal.
var ErrBlocked = errors.New("address not allowed")

var special = []struct {
	prefix netip.Prefix
	what   string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "a \"this network\" address"},
	{netip.MustParsePrefix("100.64.0.0/10"), "a carrier-grade NAT address"},
	{netip.MustParsePrefix("192.0.0.0/24"), "an IETF protocol address"},
	{netip.MustParsePrefix("198.18.0.0/15"), "a benchmarking address"},
	{netip.MustParsePrefix("240.0.0.0/4"), "a reserved address"},
	{netip.MustParsePrefix("64:ff9b:1::/48"), "a local NAT64 address"},
}

var nat64 = netip.MustParsePrefix("64:ff9b::/96")

// CheckAddr returns nil when p allows a, or an error wrapping ErrBlocked
// that says what kind of address it is.
func (p Policy) CheckAddr(a netip.Addr) error {
	if p.AllowPrivate {
		return nil
	}
	for _, pre := range p.Allow {
		if pre.Contains(a) || pre.Contains(a.Unmap()) {
			return nil
		}
	}
	if what := kind(a); what != "" {
		return fmt.Errorf("%w: %s is %s", ErrBlocked, a, what)
	}
	return nil
}

// kind names what is special about a, or "" for a public address.
func kind(a netip.Addr) string {
	a = a.Unmap() // ::ffff:127.0.0.1 is 127.0.0.1
	if a.Is6() && nat64.Contains(a) {
		b := a.As16()
		if k := kind(netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]})); k != "" {
			return k + " (through NAT64)"
		}
	}
	switch {
	case !a.IsValid():
		return "not an address"
	case a.IsLoopback():
		return "a loopback address"
	case a.IsUnspecified():
		return "an unspecified address"
	case a.IsLinkLocalUnicast():
		return "a link-local address (cloud metadata services live there)"
	case a.IsPrivate():
		return "a private-network address"
	case a.IsMulticast() || a.IsLinkLocalMulticast() || a.IsInterfaceLocalMulticast():
		return "a multicast address"
	case a.Is4() && a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return "the broadcast address"
	}
	for _, s := range special {
		if s.prefix.Contains(a) {
			return s.what
		}
	}
	return ""
}

// CheckHost refuses, before any lookup, a URL host that is a literal
// address p does not allow, or a name that always means this machine
// (localhost). Other names are checked when they are dialled.
func (p Policy) CheckHost(host string) error {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if a, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		return p.CheckAddr(a)
	}
	if p.AllowPrivate {
		return nil
	}
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return fmt.Errorf("%w: %s is this machine", ErrBlocked, host)
	}
	return nil
}

// Control is a net.Dialer Control hook refusing connections to addresses p
// does not allow; it sees each resolved address as it is dialled.
func (p Policy) Control(_, address string, _ syscall.RawConn) error {
	host, _, err := net.SplitHostPort(address)
	if err != nil {
		return err
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return fmt.Errorf("%w: %q is not an address", ErrBlocked, host)
	}
	return p.CheckAddr(a)
}

// Transport returns an HTTP transport whose every connection goes through
// p. It uses no proxy: a proxy would be the only address the dialer sees.
func (p Policy) Transport() *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second, Control: p.Control}
	tr.DialContext = d.DialContext
	return tr
}

// ParseCIDRs reads a comma-separated list of networks ("10.1.0.0/16,
// fd00::/8"); a bare address is a network of one.
func ParseCIDRs(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		if a, err := netip.ParseAddr(f); err == nil {
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		pre, err := netip.ParsePrefix(f)
		if err != nil {
			return nil, fmt.Errorf("%q is not a network such as 10.1.0.0/16", f)
		}
		out = append(out, pre.Masked())
	}
	return out, nil
}
