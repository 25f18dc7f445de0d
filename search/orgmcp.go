package search

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/agentscope/agentscope"
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
	// IdleTimeout stops an organisation's server unused for this long
	// (checked whenever a search starts; default 10 minutes).
	IdleTimeout time.Duration

	mu       sync.Mutex
	clients  map[string]*client.Client
	lastUsed map[string]time.Time
	inflight map[string]int
	closed   bool
}

var _ agentscope.Searcher = (*OrgMCP)(nil)

// Search implements agentscope.Searcher: it runs the query through the
// organisation's server's search tool. The tool answers rows without a
// column order, so the result lists no Fields.
func (p *OrgMCP) Search(ctx context.Context, orgID string, q agentscope.SearchQuery) (*agentscope.SearchResult, error) {
	c, err := p.client(orgID)
	if err != nil {
		return nil, err
	}
	defer func() {
		p.mu.Lock()
		p.inflight[orgID]--
		p.lastUsed[orgID] = time.Now()
		p.mu.Unlock()
	}()
	rows, err := client.NewSearcher(c, nil).Search(ctx, q.Query, q.Earliest, q.Latest, q.Limit)
	if err != nil {
		return nil, err
	}
	return &agentscope.SearchResult{Results: rows, Backend: EvidenceBackendAgentScope}, nil
}

func (p *OrgMCP) client(org string) (*client.Client, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, errors.New("search: closed")
	}
	now := time.Now()
	p.reapIdle(now, org)
	if p.lastUsed == nil {
		p.lastUsed, p.inflight = map[string]time.Time{}, map[string]int{}
	}
	p.lastUsed[org] = now
	p.inflight[org]++
	if c, ok := p.clients[org]; ok {
		return c, nil
	}
	c, err := p.New(org)
	if err != nil {
		p.inflight[org]--
		return nil, err
	}
	if p.clients == nil {
		p.clients = map[string]*client.Client{}
	}
	p.clients[org] = c
	return c, nil
}

// reapIdle stops the servers of organisations other than keep that have
// no search running and none for IdleTimeout.
func (p *OrgMCP) reapIdle(now time.Time, keep string) {
	idle := p.IdleTimeout
	if idle <= 0 {
		idle = 10 * time.Minute
	}
	for org, c := range p.clients {
		if org != keep && p.inflight[org] == 0 && now.Sub(p.lastUsed[org]) > idle {
			go c.Close() // closing waits for the process to exit
			delete(p.clients, org)
			delete(p.lastUsed, org)
			delete(p.inflight, org)
		}
	}
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

// EvidenceBackendAgentScope names evidence searched through AgentScope's
// own MCP server.
const EvidenceBackendAgentScope = "agentscope-mcp"
