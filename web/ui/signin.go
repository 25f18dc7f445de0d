package ui

// Login is the sign-in page: the configured providers, the email link
// form when mail is configured, and the instance token form.
type Login struct {
	// Err is shown as an error; Notice as information (a link was sent).
	Err, Notice string
	Next        string
	Providers   []Provider
	// Email offers the sign-in link form.
	Email bool
}

// Provider is a sign-in provider's button.
type Provider struct {
	ID, Label string
}

// Confirm asks the holder of an emailed link to use it: following the link
// only shows this page, so a mail scanner that opens links does not spend
// a single-use one.
type Confirm struct {
	Title, Text string
	// Action is where the form posts Token; empty shows only Err.
	Action, Token, Button string
	Err                   string
}

// Members is the Members page.
type Members struct {
	Members     []MemberRow
	Invitations []InvitationRow
	// CanManage shows the invite form and the role and remove controls.
	CanManage bool
	// Mail says whether invitations can be sent.
	Mail    bool
	Roles   []string
	Notices []Notice
	// DeleteOrg, the organisation's name, shows an owner the form that
	// deletes it (never for the default organisation).
	DeleteOrg string
}

// MemberRow is one member.
type MemberRow struct {
	UserID, Email, Name, Role string
	You                       bool
}

// InvitationRow is one pending invitation.
type InvitationRow struct {
	ID, Email, Role, Expires string
}
