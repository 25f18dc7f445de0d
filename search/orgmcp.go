package search

import (
	"context"
	"errors"
	"sync"

	"github.com/agentscope/agentscope/client"
)

// OrgMCP searches through one MCP client per organisation, each made on
// first use and reused: the investigator's evidence path when no Splunk
// MCP server is configured, where AgentScope spawns its own `agentscope mcp
// --org <org>` over stdio and searches with its run_spl. That server
// confines every query to its organisation itself, so queries are sent as
// they are. It is safe for concurrent use.
type OrgMCP struct {
	// New returns the client of an organisation's server.
	New func(org string) (*client.Client, error)

	mu      sync.Mutex
	clients map[string]*client.Client
	closed  bool
}

// Search runs query through the organisation's server's search tool.
func (p *OrgMCP) Search(ctx context.Context, orgID, query, earliest, latest string, limit int) ([]map[string]any, error) {
	c, err := p.client(orgID)
	if err != nil {
		return nil, err
	}
	return client.NewSearcher(c, nil).Search(ctx, query, earliest, latest, limit)
}

func (p *OrgMCP) client(org string) (*client.Client, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, errors.New("search: closed")
	}
	if c, ok := p.clients[org]; ok {
		return c, nil
	}
	c, err := p.New(org)
	if err != nil {
		return nil, err
	}
	if p.clients == nil {
		p.clients = map[string]*client.Client{}
	}
	p.clients[org] = c
	return c, nil
}

// Close stops every server started.
func (p *OrgMCP) Close() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	var err error
	for _, c := range p.clients {
		err = errors.Join(err, c.Close())
	}
	return err
}

// RowSearcher adapts a Router to a search returning rows on one backend
// ("" for the router's default), the shape the runtime's agents and
// investigator use.
type RowSearcher struct {
	Router  *Router
	Backend string
}

// Search runs query on the backend and returns its rows.
func (s RowSearcher) Search(ctx context.Context, orgID, query, earliest, latest string, limit int) ([]map[string]any, error) {
	a, err := s.Router.Run(ctx, orgID, Request{Query: query, Earliest: earliest, Latest: latest, RowLimit: limit, Backend: s.Backend})
	if err != nil {
		return nil, err
	}
	return a.Results, nil
}

// EvidenceBackendAgentScope names evidence searched through AgentScope's
// own MCP server.
const EvidenceBackendAgentScope = "agentscope-mcp"
