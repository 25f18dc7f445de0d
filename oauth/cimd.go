package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/agentscope/agentscope"
)

// Client ID Metadata Documents (MCP 2025-11-25 client registration;
// draft-ietf-oauth-client-id-metadata-document): a host may use an https
// URL as its client_id, where it publishes its metadata. AgentScope fetches
// the document when the host sends a person to the consent page, checks
// it names itself and its redirect URIs, and keeps the client (PutOAuthClient)
// so its codes and grants refer to it.

// maxMetadataDocument bounds a fetched client metadata document.
const maxMetadataDocument = 5 << 10

// isMetadataDocumentURL reports whether a client_id is a metadata
// document's URL: https with a path other than "/", and no fragment, user
// info or dot segments (the draft's 3).
func isMetadataDocumentURL(id string) bool {
	u, err := url.Parse(id)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || u.Fragment != "" || strings.Contains(id, "#") {
		return false
	}
	if u.Path == "" || u.Path == "/" {
		return false
	}
	for _, seg := range strings.Split(u.Path, "/") {
		if seg == "." || seg == ".." {
			return false
		}
	}
	return true
}

// metadataDocument is the part of a client metadata document AgentScope
// reads.
type metadataDocument struct {
	ClientID                string   `json:"client_id"`
	ClientName              string   `json:"client_name"`
	RedirectURIs            []string `json:"redirect_uris"`
	TokenEndpointAuthMethod string   `json:"token_endpoint_auth_method"`
}

// fetchClient fetches and checks the metadata document at id and keeps
// the client it describes.
func (s *Server) fetchClient(ctx context.Context, id string) (agentscope.OAuthClient, error) {
	bad := func(format string, args ...any) (agentscope.OAuthClient, error) {
		return agentscope.OAuthClient{}, agentscope.FieldErrorf("client_id", "the MCP host's metadata document at %s %s", id, fmt.Sprintf(format, args...))
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, id, nil)
	if err != nil {
		return bad("cannot be requested")
	}
	req.Header.Set("Accept", "application/json")
	resp, err := s.opts.MetadataClient.Do(req)
	if err != nil {
		s.log.Info("client metadata document not fetched", "client_id", id, "err", err)
		return bad("could not be fetched")
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return bad("answered %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxMetadataDocument+1))
	if err != nil {
		return bad("could not be read")
	}
	if len(body) > maxMetadataDocument {
		return bad("is larger than %d bytes", maxMetadataDocument)
	}
	var doc metadataDocument
	if err := json.Unmarshal(body, &doc); err != nil {
		return bad("is not a JSON object")
	}
	switch {
	case doc.ClientID != id:
		return bad("names another client_id")
	case doc.TokenEndpointAuthMethod != "" && doc.TokenEndpointAuthMethod != "none":
		return bad("asks for %q; AgentScope's clients are public (none)", doc.TokenEndpointAuthMethod)
	}
	c, err := s.store.PutOAuthClient(ctx, agentscope.OAuthClient{ID: id, Name: doc.ClientName, RedirectURIs: doc.RedirectURIs})
	if err != nil && agentscope.ErrorCode(err) == agentscope.EINVALID {
		return bad("is not acceptable: %s", agentscope.ErrorMessage(err))
	}
	return c, err
}

// publicOnlyClient fetches metadata documents from public addresses only:
// a client_id URL must not make AgentScope reach its own network (SSRF).
// It follows no redirect.
func publicOnlyClient() *http.Client {
	dialer := &net.Dialer{Timeout: 5 * time.Second, Control: func(_, address string, _ syscall.RawConn) error {
		host, _, err := net.SplitHostPort(address)
		if err != nil {
			return err
		}
		ip, err := netip.ParseAddr(host)
		if err != nil {
			return err
		}
		if !publicAddr(ip) {
			return errors.New("refusing to fetch a client metadata document from a non-public address")
		}
		return nil
	}}
	return &http.Client{
		Timeout:       10 * time.Second,
		Transport:     &http.Transport{DialContext: dialer.DialContext, TLSHandshakeTimeout: 5 * time.Second, Proxy: nil},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// cgnat is the shared address space of RFC 6598.
var cgnat = netip.MustParsePrefix("100.64.0.0/10")

// publicAddr reports whether ip is a public unicast address.
func publicAddr(ip netip.Addr) bool {
	ip = ip.Unmap()
	return ip.IsValid() && ip.IsGlobalUnicast() && !ip.IsPrivate() && !ip.IsLoopback() && !ip.IsLinkLocalUnicast() && !cgnat.Contains(ip)
}
