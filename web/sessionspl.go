package web

import "strings"

// defaultSplunkIndex is the index the copyable session search names when
// Options.SplunkIndex is empty.
const defaultSplunkIndex = "agentscope"

// sessionSPL is the Splunk search for one session's forwarded events.
func (s *Server) sessionSPL(sessionID string) string {
	if s.opts.UI.SessionSPL != nil {
		if q, err := s.opts.UI.SessionSPL(sessionID); err == nil {
			return q
		}
	}
	return sessionQuery(s.opts.UI.SplunkIndex, sessionID)
}

// sessionQuery builds the same search as agentscope.SessionQuery:
//
//	index="<index>" sourcetype="agentscope:events" session_id="<id>"
//
// The binary passes agentscope.SessionQuery as Options.SessionSPL; this
// is the fallback when none is given. Values are
// double-quoted with backslashes and quotes escaped, so no value can end
// the string early.
func sessionQuery(index, sessionID string) string {
	if index == "" {
		index = defaultSplunkIndex
	}
	return "index=" + splQuote(index) + " sourcetype=" + splQuote("agentscope:events") + " session_id=" + splQuote(sessionID)
}

// splQuote returns s as an SPL double-quoted string.
func splQuote(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}
