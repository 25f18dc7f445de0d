package agentscope

import (
	"net/mail"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
)

// User is a person who signs in. Users are not an organisation's: they
// belong to organisations through memberships, each with a role.
type User struct {
	ID string `json:"id"`
	// Email is the address the user signs in with, as NormalizeEmail
	// gives it; one user per address.
	Email     string    `json:"email"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

// Membership is a user's role in one organisation.
type Membership struct {
	OrgID     string    `json:"org_id"`
	UserID    string    `json:"user_id"`
	Role      Role      `json:"role"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Member is a membership with the person it is for, as an organisation
// lists its members.
type Member struct {
	Membership
	Email string `json:"email"`
	Name  string `json:"name"`
}

// UserOrg is one organisation of a user's, with the user's role there, for
// switching between them.
type UserOrg struct {
	Org
	Role Role `json:"role"`
}

// OrgNameKey is the form in which two organisation names are the same
// name to a person reading them: without case or surrounding space. The
// operator's orgs create refuses a name whose key an organisation has,
// and the organisation switcher tells apart a person's organisations that
// share one.
func OrgNameKey(name string) string { return strings.ToLower(strings.TrimSpace(name)) }

// NewOrgID returns a fresh organisation id; it matches ValidateOrgID.
func NewOrgID() string { return "org-" + uuid.Must(uuid.NewV7()).String() }

// NewUserID returns a fresh user id.
func NewUserID() string { return "usr-" + uuid.Must(uuid.NewV7()).String() }

// MaxEmailLen is the longest address an SMTP path can carry (RFC 5321).
const MaxEmailLen = 254

// NormalizeEmail checks that s is a bare address (a@example.com, no display
// name, comment or surrounding space) and returns it in lower case, the
// form users are found and invitations are bound by: mail systems treat
// addresses without regard to case, and one person must not become two
// users by typing their address differently. Only ASCII letters are
// folded, so the result has the length of s and normalises to itself.
func NormalizeEmail(s string) (string, error) {
	bad := FieldErrorf("email", "must be a plain address such as name@example.com")
	if len(s) == 0 || len(s) > MaxEmailLen || !utf8.ValidString(s) {
		return "", bad
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return "", bad
	}
	local, domain, ok := strings.Cut(s, "@")
	if !ok || local == "" || domain == "" || strings.ContainsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }) {
		return "", bad
	}
	return strings.Map(func(r rune) rune {
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}, s), nil
}

// CleanName trims a display name (of an organisation, user or key) and
// checks it: valid UTF-8, 1 to max characters, no control characters.
func CleanName(field, s string, max int) (string, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return "", FieldErrorf(field, "is required")
	case !utf8.ValidString(s):
		return "", FieldErrorf(field, "is not valid UTF-8")
	case utf8.RuneCountInString(s) > max:
		return "", FieldErrorf(field, "is longer than %d characters", max)
	case strings.ContainsFunc(s, unicode.IsControl):
		return "", FieldErrorf(field, "holds a control character")
	}
	return s, nil
}

// MaxNameLen bounds the names of organisations, users and keys.
const MaxNameLen = 100
