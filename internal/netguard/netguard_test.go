package netguard

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
)

func TestCheckAddr(t *testing.T) {
	blocked := []string{
		"127.0.0.1", "127.1.2.3", "::1", "0.0.0.0", "::", "10.0.0.1", "172.16.5.4", "192.168.1.1",
		"169.254.169.254", "fe80::1", "fc00::1", "fd12:3456::1", "100.64.0.1", "224.0.0.1", "ff02::1",
		"255.255.255.255", "::ffff:127.0.0.1", "::ffff:169.254.169.254", "64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe", "0.1.2.3", "240.0.0.1",
	}
	public := []string{"8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8", "64:ff9b::808:808", "172.32.0.1", "100.128.0.1"}
	var p Policy
	for _, s := range blocked {
		if err := p.CheckAddr(netip.MustParseAddr(s)); !errors.Is(err, ErrBlocked) {
			t.Errorf("%s: %v, want blocked", s, err)
		}
		if err := (Policy{AllowPrivate: true}).CheckAddr(netip.MustParseAddr(s)); err != nil {
			t.Errorf("%s with AllowPrivate: %v", s, err)
		}
	}
	for _, s := range public {
		if err := p.CheckAddr(netip.MustParseAddr(s)); err != nil {
			t.Errorf("%s: %v, want allowed", s, err)
		}
	}
	allow, err := ParseCIDRs("10.1.0.0/16, 127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	p = Policy{Allow: allow}
	for s, ok := range map[string]bool{"10.1.2.3": true, "10.2.0.1": false, "127.0.0.1": true, "::ffff:127.0.0.1": true, "127.0.0.2": false} {
		if err := p.CheckAddr(netip.MustParseAddr(s)); (err == nil) != ok {
			t.Errorf("%s with allow-list: %v, want allowed=%v", s, err, ok)
		}
	}
	if _, err := ParseCIDRs("10.0.0.0/33"); err == nil {
		t.Error("bad CIDR accepted")
	}
}

func TestCheckHost(t *testing.T) {
	var p Policy
	for host, ok := range map[string]bool{"127.0.0.1": false, "[::1]": false, "localhost": false, "LOCALHOST.": false, "api.localhost": false,
		"169.254.169.254": false, "hooks.slack.com": true, "example.com": true, "8.8.8.8": true} {
		if err := p.CheckHost(host); (err == nil) != ok {
			t.Errorf("%s: %v, want allowed=%v", host, err, ok)
		}
	}
}

// TestDialTimeRefusal: a name that resolves to a loopback address (here
// "localhost", as a rebinding name would) is refused when dialled, even
// though the name itself passed CheckHost's literal test; redirects
// through the transport to such an address are refused the same way.
func TestDialTimeRefusal(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(srv.URL, "http://"))
	client := &http.Client{Transport: Policy{}.Transport()}
	for _, u := range []string{"http://localhost:" + port + "/", srv.URL + "/"} {
		req, _ := http.NewRequestWithContext(context.Background(), "GET", u, nil)
		_, err := client.Do(req)
		if !errors.Is(err, ErrBlocked) {
			t.Errorf("%s: %v, want refused at dial time", u, err)
		}
	}
	allowed := &http.Client{Transport: Policy{Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}}.Transport()}
	resp, err := allowed.Get("http://localhost:" + port + "/")
	if err != nil {
		t.Fatalf("with 127.0.0.0/8 allowed: %v", err)
	}
	resp.Body.Close()
}
