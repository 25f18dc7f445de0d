package alerts

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Headers of a delivery.
const (
	// HeaderSignature is "sha256=" and the hex HMAC-SHA256, keyed with the
	// rule's secret, of the timestamp header, ".", and the body.
	HeaderSignature = "X-AgentScope-Signature"
	// HeaderTimestamp is the Unix time, in seconds, of the attempt.
	HeaderTimestamp = "X-AgentScope-Timestamp"
	// HeaderAlertID is the alert's id, the same on every attempt, for
	// receivers that deduplicate.
	HeaderAlertID = "X-AgentScope-Alert-Id"
)

// DefaultMaxSkew is how far a delivery's timestamp may be from the
// receiver's clock when Verify is given no bound.
const DefaultMaxSkew = 5 * time.Minute

// ErrInvalidSignature is wrapped by every error Verify returns.
var ErrInvalidSignature = errors.New("invalid webhook signature")

// Sign returns the timestamp and signature headers of body sent at t.
func Sign(secret string, t time.Time, body []byte) (timestamp, signature string) {
	timestamp = strconv.FormatInt(t.Unix(), 10)
	return timestamp, "sha256=" + hex.EncodeToString(mac(secret, timestamp, body))
}

func mac(secret, timestamp string, body []byte) []byte {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(timestamp))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// Verify checks a delivery as a receiver gets it: signature is the
// X-AgentScope-Signature header, timestamp the X-AgentScope-Timestamp
// header, body the raw request body. It fails when the signature does not
// match or the timestamp is more than maxSkew (DefaultMaxSkew if <= 0) from
// now, which bounds replays. The comparison takes constant time.
func Verify(secret, timestamp string, body []byte, signature string, maxSkew time.Duration) error {
	return verifyAt(time.Now(), secret, timestamp, body, signature, maxSkew)
}

func verifyAt(now time.Time, secret, timestamp string, body []byte, signature string, maxSkew time.Duration) error {
	if maxSkew <= 0 {
		maxSkew = DefaultMaxSkew
	}
	sec, err := strconv.ParseInt(timestamp, 10, 64)
	if err != nil || sec <= 0 {
		return fmt.Errorf("%w: %s is not a Unix time in seconds", ErrInvalidSignature, HeaderTimestamp)
	}
	// Compare in seconds: the timestamp may be far outside time.Duration.
	if skew := now.Unix() - sec; skew > int64(maxSkew/time.Second) || -skew > int64(maxSkew/time.Second) {
		return fmt.Errorf("%w: timestamp is more than %s from now", ErrInvalidSignature, maxSkew)
	}
	hexSig, ok := strings.CutPrefix(signature, "sha256=")
	if !ok {
		return fmt.Errorf("%w: %s must start with sha256=", ErrInvalidSignature, HeaderSignature)
	}
	got, err := hex.DecodeString(hexSig)
	if err != nil || len(got) != sha256.Size {
		return fmt.Errorf("%w: %s is not a hex SHA-256 digest", ErrInvalidSignature, HeaderSignature)
	}
	if !hmac.Equal(got, mac(secret, timestamp, body)) {
		return fmt.Errorf("%w: signature does not match", ErrInvalidSignature)
	}
	return nil
}
