package splunkbridge

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
)

const exportPath = "/services/search/jobs/export"

// Export runs query through Splunk's streaming export endpoint and returns
// up to limit result rows, reading no further once it has them. The query
// runs as given (with "search " prefixed when it starts with neither '|'
// nor "search"): it is not scoped to an organisation, so it is for
// operators and AgentScope's own queries; user queries go through Search.
func (c *RESTClient) Export(ctx context.Context, query string, tr TimeRange, limit int) ([]map[string]any, error) {
	_, rows, err := c.export(ctx, query, tr, clampLimit(limit))
	return rows, err
}

func (c *RESTClient) export(ctx context.Context, query string, tr TimeRange, limit int) ([]string, []map[string]any, error) {
	form := searchForm(query, tr)
	form.Set("output_mode", "json")
	// Cancelling the request when we have enough rows stops the stream.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	resp, err := c.post(ctx, exportPath, form)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	return readExport(resp.Body, limit)
}

func searchForm(query string, tr TimeRange) url.Values {
	form := url.Values{"search": {normalizeQuery(query)}}
	if tr.Earliest != "" {
		form.Set("earliest_time", splunkTime(tr.Earliest))
	}
	if tr.Latest != "" {
		form.Set("latest_time", splunkTime(tr.Latest))
	}
	return form
}

// exportLine is one line of the export stream: a result, or messages.
type exportLine struct {
	Preview  bool            `json:"preview"`
	Result   json.RawMessage `json:"result"`
	LastRow  bool            `json:"lastrow"`
	Messages []Message       `json:"messages"`
}

// readExport reads the newline-delimited JSON of an export until the last
// row, the limit, or the end of the stream. Preview rows (partial results
// of a transforming search) are skipped; ERROR and FATAL messages fail the
// search with Splunk's text.
func readExport(r io.Reader, limit int) ([]string, []map[string]any, error) {
	dec := json.NewDecoder(r)
	dec.UseNumber()
	var fs fieldSet
	rows := []map[string]any{}
	for len(rows) < limit {
		var line exportLine
		if err := dec.Decode(&line); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, nil, fmt.Errorf("splunk: read export stream: %w", err)
		}
		if err := searchFailure("POST "+exportPath, line.Messages); err != nil {
			return nil, nil, err
		}
		if len(line.Result) > 0 && !line.Preview {
			row, err := fs.decodeRow(line.Result)
			if err != nil {
				return nil, nil, fmt.Errorf("splunk: read export result %d: %w", len(rows), err)
			}
			rows = append(rows, row)
		}
		if line.LastRow {
			break
		}
	}
	return fs.names, rows, nil
}

// fieldSet collects field names in the order they first appear.
type fieldSet struct {
	names []string
	seen  map[string]bool
}

func (fs *fieldSet) add(name string) {
	if fs.seen == nil {
		fs.seen = map[string]bool{}
	}
	if !fs.seen[name] {
		fs.seen[name] = true
		fs.names = append(fs.names, name)
	}
}

// decodeRow decodes one result object, recording its keys in order.
// Values are strings, json.Numbers or, for multivalue fields, []any.
func (fs *fieldSet) decodeRow(raw json.RawMessage) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, fmt.Errorf("result is not an object")
	}
	row := map[string]any{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, ok := tok.(string)
		if !ok {
			return nil, fmt.Errorf("result key %v is not a string", tok)
		}
		var v any
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("result field %s: %w", strconv.Quote(key), err)
		}
		fs.add(key)
		row[key] = v
	}
	return row, nil
}
