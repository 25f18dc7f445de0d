// Package otlp decodes OTLP/HTTP trace exports (protobuf and JSON, the
// OpenTelemetry protocol's two encodings) and maps their spans, following
// the OpenTelemetry GenAI semantic conventions and the OpenInference ones,
// to AgentScope's typed events. It knows nothing of HTTP handlers or
// stores: web reads the request, service commits what Map returns.
package otlp

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/agentscope/agentscope"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// Encoding is one of OTLP/HTTP's two payload encodings.
type Encoding int

const (
	// Protobuf is binary protobuf, Content-Type application/x-protobuf.
	Protobuf Encoding = iota
	// JSON is the OTLP JSON encoding, Content-Type application/json.
	JSON
)

// Content types of the two encodings.
const (
	ContentTypeProtobuf = "application/x-protobuf"
	ContentTypeJSON     = "application/json"
)

// ContentType is the media type of e.
func (e Encoding) ContentType() string {
	if e == JSON {
		return ContentTypeJSON
	}
	return ContentTypeProtobuf
}

// ErrUnsupportedMediaType is returned by ParseContentType for a content
// type that is neither OTLP encoding (HTTP 415).
var ErrUnsupportedMediaType = errors.New("otlp: unsupported media type")

// ParseContentType returns the encoding of a Content-Type header value, or
// an error wrapping ErrUnsupportedMediaType.
func ParseContentType(ct string) (Encoding, error) {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		mt = strings.ToLower(strings.TrimSpace(ct))
	}
	switch mt {
	case ContentTypeProtobuf:
		return Protobuf, nil
	case ContentTypeJSON:
		return JSON, nil
	}
	return 0, fmt.Errorf("%w: Content-Type %q; send %s or %s", ErrUnsupportedMediaType, ct, ContentTypeProtobuf, ContentTypeJSON)
}

// ReadBody reads a request body of at most limit bytes after decoding its
// Content-Encoding ("" or identity, or gzip). A body over the limit, before
// or after decompression, is ETOOLARGE; a broken gzip stream or another
// encoding is EINVALID.
func ReadBody(r io.Reader, contentEncoding string, limit int64) ([]byte, error) {
	switch strings.ToLower(strings.TrimSpace(contentEncoding)) {
	case "", "identity":
	case "gzip":
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, bodyErr(err, "request body: Content-Encoding gzip, but the body is not gzip: %v", err)
		}
		defer zr.Close()
		r = zr
	default:
		return nil, agentscope.Errorf(agentscope.EINVALID, "Content-Encoding %q is not supported; send gzip or no encoding", contentEncoding)
	}
	body, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, bodyErr(err, "request body: %v", err)
	}
	if int64(len(body)) > limit {
		return nil, agentscope.Errorf(agentscope.ETOOLARGE, "request body is larger than %d bytes (decompressed)", limit)
	}
	return body, nil
}

// bodyErr passes a body size limit's error (http.MaxBytesReader) through
// and makes any other an EINVALID with the message given.
func bodyErr(err error, format string, args ...any) error {
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return err
	}
	return agentscope.Errorf(agentscope.EINVALID, format, args...)
}

// DecodeTraces decodes an ExportTraceServiceRequest. The JSON encoding
// is protobuf's JSON mapping with OTLP's exceptions: trace and span ids
// are hex strings (not base64), enums may be integers, and unknown fields
// are ignored. A malformed payload is an EINVALID saying what is wrong.
func DecodeTraces(body []byte, enc Encoding) (*coltracepb.ExportTraceServiceRequest, error) {
	req := &coltracepb.ExportTraceServiceRequest{}
	if enc == Protobuf {
		if err := proto.Unmarshal(body, req); err != nil {
			return nil, agentscope.Errorf(agentscope.EINVALID, "request body is not a protobuf ExportTraceServiceRequest: %v", err)
		}
		return req, nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, agentscope.Errorf(agentscope.EINVALID, "request body is not JSON: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, agentscope.Errorf(agentscope.EINVALID, "request body: trailing data after the JSON value")
	}
	if _, ok := v.(map[string]any); !ok {
		return nil, agentscope.Errorf(agentscope.EINVALID, "request body must be a JSON object (ExportTraceServiceRequest)")
	}
	if err := hexIDsToBase64(v, ""); err != nil {
		return nil, err
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, agentscope.Errorf(agentscope.EINVALID, "request body: %v", err)
	}
	if err := (protojson.UnmarshalOptions{DiscardUnknown: true}).Unmarshal(b, req); err != nil {
		return nil, agentscope.Errorf(agentscope.EINVALID, "request body is not an OTLP JSON ExportTraceServiceRequest: %v", err)
	}
	return req, nil
}

// idKeys are the OTLP JSON keys whose values are hex-encoded bytes, in
// both the lowerCamelCase and the proto field name form protojson takes.
var idKeys = map[string]bool{"traceId": true, "spanId": true, "parentSpanId": true, "trace_id": true, "span_id": true, "parent_span_id": true}

// hexIDsToBase64 rewrites, in place, the hex ids of a decoded OTLP JSON
// document as the base64 protojson reads for bytes fields.
func hexIDsToBase64(v any, path string) error {
	switch x := v.(type) {
	case map[string]any:
		for k, val := range x {
			p := k
			if path != "" {
				p = path + "." + k
			}
			if idKeys[k] {
				s, ok := val.(string)
				if !ok {
					if val == nil {
						continue
					}
					return agentscope.Errorf(agentscope.EINVALID, "request body: %s must be a hex string", p)
				}
				raw, err := hex.DecodeString(s)
				if err != nil {
					return agentscope.Errorf(agentscope.EINVALID, "request body: %s %q is not hex", p, truncate(s, 64))
				}
				x[k] = base64.StdEncoding.EncodeToString(raw)
				continue
			}
			if err := hexIDsToBase64(val, p); err != nil {
				return err
			}
		}
	case []any:
		for i, val := range x {
			if err := hexIDsToBase64(val, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	}
	return nil
}

// EncodeResponse encodes an OTLP response message (an
// ExportTraceServiceResponse, or a google.rpc.Status for an error) in enc.
func EncodeResponse(m proto.Message, enc Encoding) ([]byte, error) {
	if enc == JSON {
		return protojson.Marshal(m)
	}
	return proto.Marshal(m)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
