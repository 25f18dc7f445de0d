package oauth

import (
	"net/netip"
	"testing"
)

func TestMetadataDocumentURLs(t *testing.T) {
	for id, want := range map[string]bool{
		"https://host.example/client.json":      true,
		"https://host.example/a/b?x=1":          true,
		"https://host.example/":                 false,
		"https://host.example":                  false,
		"http://host.example/client.json":       false,
		"https://u@host.example/client.json":    false,
		"https://host.example/client.json#f":    false,
		"https://host.example/a/../client.json": false,
		"https://host.example/./client.json":    false,
		"mcpc-0192":                             false,
	} {
		if got := isMetadataDocumentURL(id); got != want {
			t.Errorf("isMetadataDocumentURL(%q) = %v", id, got)
		}
	}
	for addr, want := range map[string]bool{
		"93.184.216.34": true, "2606:2800:220:1::1": true,
		"127.0.0.1": false, "::1": false, "10.1.2.3": false, "192.168.0.1": false, "172.16.0.1": false,
		"169.254.169.254": false, "100.64.0.1": false, "0.0.0.0": false, "::ffff:127.0.0.1": false, "fe80::1": false, "fc00::1": false,
	} {
		if got := publicAddr(netip.MustParseAddr(addr)); got != want {
			t.Errorf("publicAddr(%s) = %v", addr, got)
		}
	}
}
