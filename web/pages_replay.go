package web

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/web/ui"
)

// replayPageEvents is how many events the replay page renders; the script
// pages in the rest through the JSON API as the reader scrolls. Evidence
// links (ui.NewEventLink) count pages with the same number.
const replayPageEvents = ui.ReplayPageEvents

const (
	// timelineEvents caps the events the waterfall and totals analyse, so
	// a huge session still renders quickly.
	timelineEvents = 20_000
)

// handleReplayPage renders a session: status, totals, waterfall, the SPL
// that finds it in Splunk, and a page of its events (?after=<seq>).
func (s *Server) handleReplayPage(w http.ResponseWriter, r *http.Request) {
	// The organisation feed tells the investigation panel when an
	// investigation of this session moves on.
	p := s.withFeed(r.Context(), s.page(r, "Session", "sessions"))
	sid := r.PathValue("session_id")
	var after int64
	if v := r.URL.Query().Get("after"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			s.pageError(w, r, p, agentscope.FieldErrorf("after", "must be a non-negative integer"))
			return
		}
		after = n
	}
	view, err := s.replayView(r.Context(), sid, after)
	if err != nil {
		s.pageError(w, r, p, err)
		return
	}
	view.Investigation.CSRF = p.CSRF
	p.Title = "Session " + ui.ShortID(sid)
	s.render(w, r, http.StatusOK, ui.ReplayPage(p, view))
}

func (s *Server) replayView(ctx context.Context, sid string, after int64) (ui.Replay, error) {
	run, err := s.svc.GetRun(ctx, sid)
	if err != nil {
		return ui.Replay{}, err
	}
	tl, evs, t0, err := s.timeline(ctx, run)
	if err != nil {
		return ui.Replay{}, err
	}
	// seq is gap-free from 1, so the analysed events index the page
	// directly; a page past them is read from the store.
	var page []agentscope.Event
	if after < int64(len(evs)) {
		page = evs[after:min(int64(len(evs)), after+replayPageEvents)]
	} else if page, err = s.svc.ListEvents(ctx, sid, agentscope.EventFilter{AfterSeq: after, Limit: replayPageEvents}); err != nil {
		return ui.Replay{}, err
	}
	v := ui.Replay{Run: run, Timeline: tl, After: after, T0: t0.UnixMicro()}
	v.Events = make([]ui.EventRow, len(page))
	for i, ev := range page {
		v.Events[i] = eventRow(ev, t0)
	}
	last := after
	if len(page) > 0 {
		last = page[len(page)-1].Seq
	}
	v.More = last < run.EventCount && len(page) == replayPageEvents
	v.SPL = s.sessionSPL(sid)
	v.Usage = usageCharts(evs, tl.Partial)
	v.Investigation = s.reportPanel(ctx, sid, nil, evs)
	return v, nil
}

// timeline reads up to timelineEvents of a run's events and lays them out;
// it returns the events read and the session's time origin.
func (s *Server) timeline(ctx context.Context, run agentscope.Run) (ui.Timeline, []agentscope.Event, time.Time, error) {
	evs, err := s.svc.ListEvents(ctx, run.SessionID, agentscope.EventFilter{Limit: timelineEvents + 1})
	if err != nil {
		return ui.Timeline{}, nil, time.Time{}, err
	}
	partial := len(evs) > timelineEvents
	if partial {
		evs = evs[:timelineEvents]
	}
	b := newTimelineBuilder()
	for i := range evs {
		b.add(&evs[i])
	}
	tl := b.build(run)
	tl.Partial, tl.Analysed = partial, len(evs)
	t0 := b.first
	if t0.IsZero() {
		t0 = run.CreatedAt
	}
	return tl, evs, t0, nil
}

// handleTimelineFragment renders a session's timeline panel alone, for the
// replay page to refresh while the run is live.
func (s *Server) handleTimelineFragment(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	sid := r.PathValue("session_id")
	run, err := s.svc.GetRun(ctx, sid)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	tl, _, _, err := s.timeline(ctx, run)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	s.render(w, r, http.StatusOK, ui.TimelinePanel(tl))
}
