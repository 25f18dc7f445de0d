package oauth

import (
	"crypto/sha256"
	"encoding/base64"
	"testing"
)

// FuzzPKCE: a verifier is accepted only in RFC 7636's form, and matches
// only its own S256 challenge.
func FuzzPKCE(f *testing.F) {
	f.Add("dBjftJeZ4CVP-mJ92K27uhbUJU1p1r_wW1gFWFOEjXk", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM")
	f.Add("short", "")
	f.Add(string(make([]byte, 129)), "x")
	f.Fuzz(func(t *testing.T, verifier, challenge string) {
		if validVerifier(verifier) {
			if len(verifier) < 43 || len(verifier) > 128 {
				t.Fatalf("%q accepted", verifier)
			}
			for _, c := range verifier {
				if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~') {
					t.Fatalf("%q accepted with %q", verifier, c)
				}
			}
		}
		sum := sha256.Sum256([]byte(verifier))
		own := base64.RawURLEncoding.EncodeToString(sum[:])
		if !pkceMatches(verifier, own) || !validChallenge(own) {
			t.Fatalf("%q does not match its own challenge", verifier)
		}
		if pkceMatches(verifier, challenge) != (challenge == own) {
			t.Fatalf("%q against %q", verifier, challenge)
		}
	})
}
