package agentscope

import "context"

type orgKey struct{}

// WithOrg returns a context carrying the caller's organisation. Transports set
// it after authenticating; services read it with OrgFrom and never take an
// organisation from request data.
func WithOrg(ctx context.Context, orgID string) context.Context {
	return context.WithValue(ctx, orgKey{}, orgID)
}

// OrgFrom returns the caller's organisation, or EUNAUTHORIZED if the context
// has none.
func OrgFrom(ctx context.Context) (string, error) {
	if org, ok := ctx.Value(orgKey{}).(string); ok && org != "" {
		return org, nil
	}
	return "", Errorf(EUNAUTHORIZED, "no organisation in context")
}
