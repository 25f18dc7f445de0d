package web

import (
	"net/http"
	"slices"
	"sync"
)

// Router is the server's http.ServeMux that also remembers every pattern
// registered on it, so that a test can walk all the endpoints the server
// has (the tenant isolation suite fails on a route it has no case for).
type Router struct {
	*http.ServeMux
	mu       sync.Mutex
	patterns []string
}

func newRouter() *Router { return &Router{ServeMux: http.NewServeMux()} }

// Handle registers h for pattern, as http.ServeMux.Handle does.
func (m *Router) Handle(pattern string, h http.Handler) {
	m.mu.Lock()
	m.patterns = append(m.patterns, pattern)
	m.mu.Unlock()
	m.ServeMux.Handle(pattern, h)
}

// HandleFunc registers h for pattern, as http.ServeMux.HandleFunc does.
func (m *Router) HandleFunc(pattern string, h func(http.ResponseWriter, *http.Request)) {
	m.Handle(pattern, http.HandlerFunc(h))
}

// Patterns lists the registered patterns, sorted.
func (m *Router) Patterns() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Sorted(slices.Values(m.patterns))
}
