// Package signin signs people in to AgentScope's web UI and manages who
// belongs to an organisation.
//
//   - Flows: OpenID Connect with any issuer (github.com/coreos/go-oidc/v3
//     verifies the ID token; golang.org/x/oauth2 runs the authorization
//     code flow with PKCE), and GitHub and Discord as plain OAuth 2.0
//     presets that read the verified address from the provider's user API.
//     State, nonce and the PKCE verifier travel in a sealed cookie bound to
//     the browser that started the sign-in.
//   - Accounts: email sign-in links and invitations over SMTP (single use,
//     expiring, bound to the address; rate limited per address), the first
//     sign-in's bootstrap (user, personal organisation, owner membership,
//     starter agents), and the members and invitations of an organisation,
//     checked against the caller's role.
//
// The web package's handlers are thin wrappers over these.
package signin
