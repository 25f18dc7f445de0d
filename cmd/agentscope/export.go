package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/recorder"
	"github.com/agentscope/agentscope/redact"
)

// export and import move an organisation's sessions between stores as
// NDJSON: one stored event per line, exactly as replay returns it (its
// canonical JSON, with seq), each session's events together and in seq
// order. Both stream: export reads a page of runs and a page of events at a
// time, import holds one batch of one session.

// exportPage is how many runs, and how many events of a session, export
// reads at a time.
const exportPage = 500

// runExport is `agentscope export [--org ORG] [--since T] [--session ID]
// --format ndjson > file`.
func runExport(ctx context.Context, env *Env, args []string) error {
	var (
		cfg                 Config
		org, since, session string
		format              string
	)
	pos, err := env.parseFlags("export", args, &cfg, storeFlags, func(fs *flag.FlagSet) {
		fs.StringVar(&org, "org", agentscope.DefaultOrgID, "the organisation whose sessions to export (agentscope orgs list)")
		fs.StringVar(&since, "since", "", "only sessions started at or after this RFC 3339 time, or date (midnight UTC) (whole sessions, so the file always imports)")
		fs.StringVar(&session, "session", "", "only this session")
		fs.StringVar(&format, "format", "ndjson", "ndjson: one stored event per line, as replay returns it (what import reads); otlp: OTLP/JSON logs, one ExportLogsServiceRequest per line (a session's page of events), GenAI attributes, as the OpenTelemetry Collector's otlpjsonfile receiver reads")
	})
	if err := noArgs(pos, err); err != nil {
		return err
	}
	var f agentscope.RunFilter
	switch {
	case format != "ndjson" && format != "otlp":
		return usageError{fmt.Sprintf("--format %q is not ndjson or otlp", format)}
	case since != "":
		// A date alone is its midnight UTC.
		t, err := time.Parse(time.RFC3339Nano, since)
		if err != nil {
			if t, err = time.Parse(time.DateOnly, since); err != nil {
				return usageError{fmt.Sprintf("--since %q is not an RFC 3339 time such as 2026-01-31T00:00:00Z, nor a date such as 2026-01-31 (midnight UTC)", since)}
			}
		}
		f.Since = t
	}
	if session != "" {
		if err := agentscope.ValidateSessionID(session); err != nil {
			return usageError{"--session: " + agentscope.ErrorMessage(err)}
		}
	}
	st, err := openOrgStore(ctx, env, "export", cfg, org)
	if err != nil {
		return err
	}
	defer st.Close()
	w := bufio.NewWriterSize(env.Stdout, 64<<10)
	page := func(evs []agentscope.StoredEvent) error {
		for _, ev := range evs {
			w.Write(ev.Body)
			if err := w.WriteByte('\n'); err != nil {
				return err
			}
		}
		return nil
	}
	if format == "otlp" {
		page = func(evs []agentscope.StoredEvent) error { return writeOTLP(w, org, evs) }
	}
	n, err := exportEvents(ctx, st, org, session, f, page)
	if err == nil {
		err = w.Flush()
	}
	if err != nil {
		return cliError(err)
	}
	fmt.Fprintf(env.Stderr, "agentscope export: %d events\n", n)
	return nil
}

// openOrgStore opens the configured store for a command that acts on one
// organisation's data, refusing an organisation that does not exist. The
// caller closes it.
func openOrgStore(ctx context.Context, env *Env, name string, cfg Config, org string) (appStore, error) {
	st, _, _, desc, err := openStore(ctx, cfg, cfg.oneShotLogger(env))
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(env.Stderr, "agentscope %s: data dir %s, store %s\n", name, cfg.DataDir, desc)
	if _, err := st.GetOrg(ctx, org); err != nil {
		st.Close()
		return nil, cliError(err)
	}
	return st, nil
}

// exportEvents hands page the organisation's events (one session's, or
// those of the runs f selects, newest run first), a page of one session at
// a time, and returns how many.
func exportEvents(ctx context.Context, st agentscope.Store, org, session string, f agentscope.RunFilter, page func([]agentscope.StoredEvent) error) (int64, error) {
	var n int64
	one := func(sid string) error {
		var after int64
		for {
			evs, err := st.ListEventBodies(ctx, org, sid, agentscope.EventFilter{AfterSeq: after, Limit: exportPage})
			if err != nil {
				return err
			}
			if len(evs) > 0 {
				if err := page(evs); err != nil {
					return err
				}
				after = evs[len(evs)-1].Seq
			}
			n += int64(len(evs))
			if len(evs) < exportPage {
				return nil
			}
		}
	}
	if session != "" {
		return n, one(session)
	}
	f.Limit = exportPage
	for {
		page, err := st.ListRuns(ctx, org, f)
		if err != nil {
			return n, err
		}
		for _, r := range page.Runs {
			if err := one(r.SessionID); err != nil {
				return n, err
			}
		}
		if page.NextCursor == "" {
			return n, nil
		}
		f.Cursor = page.NextCursor
	}
}

// runImport is `agentscope import [--org ORG] FILE|-`.
func runImport(ctx context.Context, env *Env, args []string) error {
	var (
		cfg Config
		org string
	)
	pos, err := env.parseFlags("import", args, &cfg, storeFlags, func(fs *flag.FlagSet) {
		fs.StringVar(&org, "org", agentscope.DefaultOrgID, "the organisation to import into (agentscope orgs list)")
	})
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError{"usage: agentscope import [--org ORG] FILE (- for standard input), a file agentscope export wrote"}
	}
	in := env.Stdin
	if pos[0] != "-" {
		f, err := os.Open(pos[0])
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	st, err := openOrgStore(ctx, env, "import", cfg, org)
	if err != nil {
		return err
	}
	defer st.Close()
	// Imported events are new to this store: with a HEC configured they
	// wait in the outbox for a process that forwards, like any other.
	st.SetOutbox(cfg.Splunk.HECEnabled())
	// The recorder alone, without the app's observers: importing is not
	// the sessions happening, so nothing detects or investigates on it.
	rec := recorder.New(st, recorder.Options{Hub: recorder.NewMemHub(), Logger: cfg.oneShotLogger(env)})
	defer rec.Close()
	red, err := cfg.redactor()
	if err != nil {
		return err
	}
	im := &importer{ctx: ctx, org: org, store: st, rec: rec, red: red, errw: env.Stderr}
	if isTerminal(env.Stderr) {
		im.progress = env.Stderr
	}
	err = im.run(in)
	if im.progress != nil && im.lines > 0 {
		fmt.Fprintln(im.progress)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "imported %d, already present %d, refused %d\n", im.imported, im.present, im.refused)
	if im.refused > 0 {
		return fmt.Errorf("%d events refused (lines named above)", im.refused)
	}
	return nil
}

// isTerminal reports whether w is a terminal, where import shows progress.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// Bounds of one import batch.
const (
	importBatch      = 500
	importBatchBytes = 4 << 20
	// importMaxLine is the longest line import reads: well above any
	// event the recorder accepts.
	importMaxLine = 64 << 20
)

// importer re-creates sessions from NDJSON lines through the recorder's
// append path, so every event is validated and its event_id stays its
// idempotency key. Each session's events keep their seq: a session this
// store lacks is started from its first event (seq 1); the events a
// session already has are compared with the file's byte for byte (already
// present); the rest are appended only if they follow the stored ones
// (IfLastSeq), so a seq is never reassigned.
type importer struct {
	ctx   context.Context
	org   string
	store appStore
	rec   *recorder.Recorder
	// red is the store's redactor: lines are redacted before they are
	// compared with stored events.
	red  *redact.Redactor
	errw io.Writer
	// progress, if set, gets a progress line (a terminal).
	progress io.Writer
	lastShow time.Time

	lines, imported, present, refused int64

	// The session being read: its id, the store's event count for it
	// (-1: not looked up), whether it exists, the seq of its last line
	// read, and a refusal that skips the rest of it.
	session string
	stored  int64
	exists  bool
	lastSeq int64
	broken  bool
	batch   []importLine
	size    int
}

// importLine is one event read, with its line number and canonical body.
type importLine struct {
	n    int64
	ev   agentscope.Event
	body []byte
}

func (im *importer) run(in io.Reader) error {
	r := bufio.NewReaderSize(in, 1<<20)
	for {
		line, err := readLine(r)
		if len(line) > 0 || err == nil {
			im.lines++
			im.line(im.lines, line)
			im.show(false)
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("line %d: %w", im.lines+1, err)
		}
		if err := im.ctx.Err(); err != nil {
			return err
		}
	}
	im.flush()
	im.show(true)
	return nil
}

// readLine reads one line without its newline, up to importMaxLine.
func readLine(r *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		part, err := r.ReadSlice('\n')
		line = append(line, part...)
		if len(line) > importMaxLine {
			return nil, fmt.Errorf("longer than %d bytes", importMaxLine)
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		return bytes.TrimRight(line, "\r\n"), err
	}
}

// refuse reports one line's error.
func (im *importer) refuse(n int64, format string, args ...any) {
	im.refused++
	fmt.Fprintf(im.errw, "line %d: %s\n", n, fmt.Sprintf(format, args...))
}

// line reads one line into the current session's batch.
func (im *importer) line(n int64, b []byte) {
	if len(bytes.TrimSpace(b)) == 0 {
		return // a blank line, such as a trailing one
	}
	ev, err := decodeExported(b)
	if err != nil {
		if bytes.HasPrefix(bytes.TrimSpace(b), []byte(`{"resourceLogs"`)) {
			// The other format export writes: say so rather than name
			// the first field an event lacks.
			im.refuse(n, "this is OTLP/JSON (export --format otlp), which import does not read: export again with --format ndjson (the default)")
			return
		}
		im.refuse(n, "%s", agentscope.ErrorMessage(err))
		return
	}
	if ev.SessionID != im.session {
		im.flush()
		im.session, im.stored, im.exists, im.lastSeq, im.broken = ev.SessionID, -1, false, 0, false
	}
	switch {
	case im.broken:
		im.refuse(n, "session %s: skipped after the error above", ev.SessionID)
		return
	case im.lastSeq > 0 && ev.Seq != im.lastSeq+1:
		im.refuse(n, "seq: %d does not follow %d, the seq of session %s's event before it (an export lists each session's events in seq order)", ev.Seq, im.lastSeq, ev.SessionID)
		return
	}
	// Compared with the store's events and appended as the store keeps
	// them: redacted, so a file holding a secret imports again as already
	// present.
	ev, _ = im.red.Event(ev)
	body, err := ev.MarshalCanonical()
	if err != nil {
		im.refuse(n, "%v", err)
		return
	}
	im.lastSeq = ev.Seq
	im.batch = append(im.batch, importLine{n, ev, body})
	im.size += len(body)
	if len(im.batch) >= importBatch || im.size >= importBatchBytes {
		im.flush()
	}
}

// decodeExported decodes one exported event: the fields and rules of
// record_event, plus the seq, session_id and agent a stored event has.
func decodeExported(b []byte) (agentscope.Event, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return agentscope.Event{}, agentscope.Errorf(agentscope.EINVALID, "not a JSON object: %v", err)
	}
	seqRaw, ok := raw["seq"]
	if !ok {
		return agentscope.Event{}, agentscope.FieldErrorf("seq", "is required (a line agentscope export wrote has it)")
	}
	seq, err := strconv.ParseInt(string(seqRaw), 10, 64)
	if err != nil || seq < 1 {
		return agentscope.Event{}, agentscope.FieldErrorf("seq", "must be a whole number from 1, got %s", seqRaw)
	}
	delete(raw, "seq")
	ev, err := agentscope.DecodeEventFields(raw)
	if err != nil {
		return ev, err
	}
	switch {
	case ev.EventID == "":
		return ev, agentscope.FieldErrorf("event_id", "is required (a line agentscope export wrote has it)")
	case ev.SessionID == "":
		return ev, agentscope.FieldErrorf("session_id", "is required (a line agentscope export wrote has it)")
	case ev.Agent == "":
		return ev, agentscope.FieldErrorf("agent", "is required (a line agentscope export wrote has it)")
	case ev.TS.IsZero():
		return ev, agentscope.FieldErrorf("ts", "is required (a line agentscope export wrote has it)")
	}
	ev.Seq = seq
	return ev, nil
}

// flush writes the batch: the part the store already holds is compared,
// the rest appended after it.
func (im *importer) flush() {
	batch := im.batch
	im.batch, im.size = im.batch[:0], 0
	if len(batch) == 0 || im.broken {
		return
	}
	sid := batch[0].ev.SessionID
	if im.stored < 0 {
		run, err := im.store.GetRun(im.ctx, im.org, sid)
		switch {
		case err == nil:
			im.stored, im.exists = run.EventCount, true
		case agentscope.ErrorCode(err) == agentscope.ENOTFOUND:
			im.stored = 0
		default:
			im.fail(batch, "session %s: %s", sid, agentscope.ErrorMessage(err))
			return
		}
	}
	// Already stored: the same bytes, or the file and the store disagree.
	k := 0
	for k < len(batch) && batch[k].ev.Seq <= im.stored {
		k++
	}
	if k > 0 {
		held, err := im.store.ListEventBodies(im.ctx, im.org, sid, agentscope.EventFilter{AfterSeq: batch[0].ev.Seq - 1, Limit: k})
		if err != nil {
			im.fail(batch, "session %s: %s", sid, agentscope.ErrorMessage(err))
			return
		}
		for i, l := range batch[:k] {
			if i >= len(held) || held[i].Seq != l.ev.Seq || !bytes.Equal(held[i].Body, l.body) {
				im.refuse(l.n, "session %s's event %d in this store is not this line's event %s (the store and the file disagree; nothing of the session after it is imported)", sid, l.ev.Seq, l.ev.EventID)
				im.fail(batch[i+1:], "session %s: skipped after the error above", sid)
				return
			}
			im.present++
		}
	}
	rest := batch[k:]
	if len(rest) == 0 {
		return
	}
	if first := rest[0]; first.ev.Seq != im.stored+1 {
		im.refuse(first.n, "seq: %d, but session %s has %d events here: the events between are missing from the file (export whole sessions)", first.ev.Seq, sid, im.stored)
		im.fail(rest[1:], "session %s: skipped after the error above", sid)
		return
	}
	req := agentscope.AppendRequest{OrgID: im.org, SessionID: sid, IfLastSeq: im.stored}
	if !im.exists {
		// The run as its first event says it began (and SessionCompleted,
		// below, that it ended); the run's metadata and managed flag are
		// not in the events, so not in the file.
		ev := rest[0].ev
		ts := ev.TS
		req.Start = &agentscope.Run{Agent: ev.Agent, Status: agentscope.StatusRunning, Input: ev.Input, CreatedAt: ts, StartedAt: &ts}
	}
	for _, l := range rest {
		req.Events = append(req.Events, l.ev)
		if l.ev.Type == agentscope.SessionCompleted {
			at := l.ev.TS
			req.Update = &agentscope.RunUpdate{Status: agentscope.RunStatus(l.ev.Status), Output: l.ev.Output, Error: l.ev.Error, At: &at}
		}
	}
	for i := range req.Events {
		req.Events[i].Seq = 0 // assigned again: IfLastSeq makes it the same
	}
	res, err := im.rec.Commit(im.ctx, req)
	if err == nil {
		for i, ev := range res.Events {
			if res.Duplicate[i] || ev.Seq != rest[i].ev.Seq {
				err = agentscope.Errorf(agentscope.ECONFLICT, "event_id %s (line %d) is already recorded in session %s as another event", rest[i].ev.EventID, rest[i].n, sid)
				break
			}
		}
	}
	if err != nil {
		im.fail(rest, "session %s: %s", sid, agentscope.ErrorMessage(err))
		return
	}
	im.imported += int64(len(rest))
	im.stored, im.exists = rest[len(rest)-1].ev.Seq, true
}

// fail refuses the lines and the rest of their session, naming the lines.
func (im *importer) fail(lines []importLine, format string, args ...any) {
	im.broken = true
	if len(lines) == 0 {
		return
	}
	msg := fmt.Sprintf(format, args...)
	im.refused += int64(len(lines))
	first, last := lines[0].n, lines[len(lines)-1].n
	if first == last {
		fmt.Fprintf(im.errw, "line %d: %s\n", first, msg)
	} else {
		fmt.Fprintf(im.errw, "lines %d-%d: %s\n", first, last, msg)
	}
}

// show writes the progress line, at most a few times a second.
func (im *importer) show(final bool) {
	if im.progress == nil || (!final && time.Since(im.lastShow) < 200*time.Millisecond) {
		return
	}
	im.lastShow = time.Now()
	fmt.Fprintf(im.progress, "\rline %d: imported %d, already present %d, refused %d", im.lines, im.imported, im.present, im.refused)
}
