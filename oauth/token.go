package oauth

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"strings"
	"time"

	"github.com/agentscope/agentscope"
)

// maxFormBytes bounds a token or revocation request.
const maxFormBytes = 16 << 10

// tokenResponse is RFC 6749 5.1's answer.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token"`
	Scope        string `json:"scope"`
}

// form reads a token or revocation request's form body, refusing a
// parameter given twice (RFC 6749 3.2).
func form(w http.ResponseWriter, r *http.Request) (func(string) string, error) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		return nil, oauthErr("invalid_request", "the body must be application/x-www-form-urlencoded, at most %d bytes", maxFormBytes)
	}
	for k, vs := range r.PostForm {
		if len(vs) > 1 {
			return nil, oauthErr("invalid_request", "%s is given more than once", k)
		}
	}
	return r.PostForm.Get, nil
}

// clientID is the public client's id: the client_id parameter, or the
// user name of HTTP Basic authentication for a client that sends it so.
func clientID(r *http.Request, get func(string) string) string {
	if id := get("client_id"); id != "" {
		return id
	}
	id, _, _ := r.BasicAuth()
	return id
}

// handleToken is the token endpoint: the authorization_code grant (with
// the PKCE verifier, the redirect URI and the resource of the
// authorization request) and the refresh_token grant (rotating).
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) {
	get, err := form(w, r)
	if err != nil {
		s.writeOAuthError(w, r, err, "invalid_request")
		return
	}
	client := clientID(r, get)
	if client == "" {
		s.writeOAuthError(w, r, oauthErr("invalid_client", "client_id is required"), "")
		return
	}
	var tok agentscope.OAuthTokens
	switch get("grant_type") {
	case grantAuthorizationCode:
		tok, err = s.exchange(r, client, get)
	case grantRefreshToken:
		if _, err = s.resourceFor(r, get("resource")); err == nil {
			tok, err = s.store.RefreshOAuthGrant(r.Context(), get("refresh_token"), client, s.opts.AccessTTL, s.opts.RefreshTTL)
		}
	case "":
		err = oauthErr("invalid_request", "grant_type is required")
	default:
		err = oauthErr("unsupported_grant_type", "grant_type must be authorization_code or refresh_token")
	}
	if err != nil {
		s.writeOAuthError(w, r, err, "invalid_request")
		return
	}
	w.Header().Set("Pragma", "no-cache")
	writeJSON(w, http.StatusOK, tokenResponse{
		AccessToken:  tok.Access.Reveal(),
		TokenType:    "Bearer",
		ExpiresIn:    int64(time.Until(tok.AccessExpiresAt).Round(time.Second) / time.Second),
		RefreshToken: tok.Refresh.Reveal(),
		Scope:        strings.ReplaceAll(agentscope.JoinScopes(tok.Grant.Scopes), ",", " "),
	})
}

// exchange uses an authorization code for client, checking what the
// authorization request fixed: the client, the redirect URI, the PKCE
// verifier and the resource.
func (s *Server) exchange(r *http.Request, client string, get func(string) string) (agentscope.OAuthTokens, error) {
	verifier := get("code_verifier")
	if !validVerifier(verifier) {
		return agentscope.OAuthTokens{}, oauthErr("invalid_request", "code_verifier must be 43 to 128 characters of A-Z a-z 0-9 - . _ ~ (RFC 7636 4.1)")
	}
	resource, err := s.resourceFor(r, get("resource"))
	if err != nil {
		return agentscope.OAuthTokens{}, err
	}
	return s.store.ExchangeOAuthCode(r.Context(), get("code"), s.opts.AccessTTL, s.opts.RefreshTTL, func(c agentscope.OAuthCode) error {
		switch {
		case c.Grant.ClientID != client:
			return oauthErr("invalid_grant", "the code was issued to another client")
		case get("redirect_uri") != c.RedirectURI:
			return oauthErr("invalid_grant", "redirect_uri differs from the authorization request's")
		case !pkceMatches(verifier, c.CodeChallenge):
			return oauthErr("invalid_grant", "code_verifier does not match the code_challenge")
		case resource != c.Grant.Resource:
			return oauthErr("invalid_target", "resource differs from the authorization request's")
		}
		return nil
	})
}

// validVerifier checks a PKCE code verifier's form (RFC 7636 4.1).
func validVerifier(v string) bool {
	if len(v) < 43 || len(v) > 128 {
		return false
	}
	for i := range len(v) {
		b := v[i]
		if (b < 'A' || b > 'Z') && (b < 'a' || b > 'z') && (b < '0' || b > '9') && !strings.ContainsRune("-._~", rune(b)) {
			return false
		}
	}
	return true
}

// pkceMatches reports whether verifier's S256 is challenge, comparing in
// constant time.
func pkceMatches(verifier, challenge string) bool {
	sum := sha256.Sum256([]byte(verifier))
	return subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(challenge)) == 1
}

// handleRevoke is the revocation endpoint (RFC 7009): revoking an access
// or a refresh token ends its grant. Any token, known or not, is answered
// 200 (2.2).
func (s *Server) handleRevoke(w http.ResponseWriter, r *http.Request) {
	get, err := form(w, r)
	if err == nil && get("token") == "" {
		err = oauthErr("invalid_request", "token is required")
	}
	if err != nil {
		s.writeOAuthError(w, r, err, "invalid_request")
		return
	}
	if err := s.store.RevokeOAuthToken(r.Context(), get("token")); err != nil {
		s.writeOAuthError(w, r, err, "invalid_request")
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
}
