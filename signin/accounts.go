package signin

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/agentscope/agentscope"
)

// Store keeps people, memberships and emailed links (*sqlstore.Store).
type Store interface {
	GetOrg(ctx context.Context, id string) (agentscope.Org, error)
	GetUser(ctx context.Context, id string) (agentscope.User, error)
	UserByEmail(ctx context.Context, email string) (agentscope.User, error)
	CreateUserWithOrg(ctx context.Context, u agentscope.User, orgName string) (agentscope.User, agentscope.Org, error)
	GetMembership(ctx context.Context, orgID, userID string) (agentscope.Membership, error)
	ListMembers(ctx context.Context, orgID string) ([]agentscope.Member, error)
	ListUserOrgs(ctx context.Context, userID string) ([]agentscope.UserOrg, error)
	SetMemberRole(ctx context.Context, orgID, userID string, role agentscope.Role, actor string) (agentscope.Membership, error)
	RemoveMember(ctx context.Context, orgID, userID, actor string) error
	CreateEmailToken(ctx context.Context, e agentscope.EmailToken) (agentscope.EmailToken, agentscope.Credential, error)
	PendingEmailToken(ctx context.Context, kind agentscope.EmailTokenKind, credential string) (agentscope.EmailToken, error)
	ConsumeSignInLink(ctx context.Context, credential string) (agentscope.EmailToken, error)
	AcceptInvitation(ctx context.Context, credential, userID string) (agentscope.Membership, error)
	ListInvitations(ctx context.Context, orgID string) ([]agentscope.EmailToken, error)
	RevokeInvitation(ctx context.Context, orgID, id, actor string) error
	// AppendAudit records a sign-in in the organisation's audit log.
	AppendAudit(ctx context.Context, e agentscope.AuditEntry) (agentscope.AuditEntry, error)
}

// Options configure Accounts.
type Options struct {
	// Mailer sends sign-in links and invitations; nil turns both off.
	Mailer Mailer
	// PublicURL is where the links in mail point (Config.PublicURL).
	PublicURL string
	// PrepareOrg gives a new organisation what every organisation starts
	// with (service.PrepareOrg: the starter agents).
	PrepareOrg func(ctx context.Context, orgID string) error
	// CheckSeat, when set, refuses an invitation its organisation's plan
	// has no seat for (billing.Service.CheckSeat: EPLANLIMIT).
	CheckSeat func(ctx context.Context, orgID string) error
	// LinkTTL is how long a sign-in link works (default 15 minutes);
	// InvitationTTL an invitation (default 7 days).
	LinkTTL, InvitationTTL time.Duration
	// SignInLimit and InvitationLimit bound the mail sent to one address
	// (defaults DefaultSignInLinkLimit, DefaultInvitationLimit).
	SignInLimit, InvitationLimit AddressLimit
	Now                          func() time.Time
	Logger                       *slog.Logger
}

// Accounts signs people in and manages an organisation's members and
// invitations. A person's first sign-in, by any provider or link, creates
// the user, a personal organisation with them as owner, and the
// organisation's starter agents.
type Accounts struct {
	store       Store
	opts        Options
	log         *slog.Logger
	signInLimit *addressLimiter
	inviteLimit *addressLimiter
}

// NewAccounts returns Accounts over store.
func NewAccounts(store Store, opts Options) *Accounts {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.LinkTTL <= 0 {
		opts.LinkTTL = 15 * time.Minute
	}
	if opts.InvitationTTL <= 0 {
		opts.InvitationTTL = 7 * 24 * time.Hour
	}
	if opts.SignInLimit == (AddressLimit{}) {
		opts.SignInLimit = DefaultSignInLinkLimit
	}
	if opts.InvitationLimit == (AddressLimit{}) {
		opts.InvitationLimit = DefaultInvitationLimit
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Accounts{store: store, opts: opts, log: opts.Logger.With("component", "signin"),
		signInLimit: newAddressLimiter(opts.SignInLimit, "sign-in links", opts.Now),
		inviteLimit: newAddressLimiter(opts.InvitationLimit, "invitations", opts.Now)}
}

// MailEnabled reports whether sign-in links and invitations can be sent.
func (a *Accounts) MailEnabled() bool { return a.opts.Mailer != nil }

// SignedIn is a person who has just signed in, and the organisation they
// start in.
type SignedIn struct {
	User agentscope.User
	// OrgID is the organisation to open: the personal one on a first
	// sign-in, the invitation's on accepting one, else the first of theirs.
	OrgID string
	// Created is true on a first sign-in.
	Created bool
}

// SignIn returns the user of a verified identity, creating on a first
// sign-in the user, a personal organisation, the owner membership and the
// starter agents.
func (a *Accounts) SignIn(ctx context.Context, id Identity) (SignedIn, error) {
	email, err := agentscope.NormalizeEmail(id.Email)
	if err != nil {
		return SignedIn{}, err
	}
	u, err := a.store.UserByEmail(ctx, email)
	if err == nil {
		return a.signedIn(ctx, u)
	}
	if agentscope.ErrorCode(err) != agentscope.ENOTFOUND {
		return SignedIn{}, err
	}
	name := displayName(id.Name, email)
	u, org, err := a.store.CreateUserWithOrg(ctx, agentscope.User{Email: email, Name: name}, orgName(name))
	if agentscope.ErrorCode(err) == agentscope.ECONFLICT {
		// Another first sign-in of the same address won.
		if u, err = a.store.UserByEmail(ctx, email); err != nil {
			return SignedIn{}, err
		}
		return a.signedIn(ctx, u)
	} else if err != nil {
		return SignedIn{}, err
	}
	if a.opts.PrepareOrg != nil {
		if err := a.opts.PrepareOrg(ctx, org.ID); err != nil {
			return SignedIn{}, fmt.Errorf("prepare %s's organisation: %w", u.ID, err)
		}
	}
	a.log.Info("first sign-in", "user", u.ID, "org", org.ID, "provider", id.Provider)
	return SignedIn{User: u, OrgID: org.ID, Created: true}, nil
}

func (a *Accounts) signedIn(ctx context.Context, u agentscope.User) (SignedIn, error) {
	orgs, err := a.store.ListUserOrgs(ctx, u.ID)
	if err != nil {
		return SignedIn{}, err
	}
	s := SignedIn{User: u}
	if len(orgs) > 0 {
		s.OrgID = orgs[0].ID
		// A first sign-in whose starter agents failed gets them now
		// (PrepareOrg does nothing for an organisation it has prepared);
		// a failure here does not keep the person out.
		if a.opts.PrepareOrg != nil {
			if err := a.opts.PrepareOrg(ctx, s.OrgID); err != nil {
				a.log.Warn("prepare organisation at sign-in", "org", s.OrgID, "err", err)
			}
		}
	}
	return s, nil
}

// displayName is the name a provider gave, or the address's local part.
func displayName(name, email string) string {
	if n, err := agentscope.CleanName("name", name, agentscope.MaxNameLen); err == nil {
		return n
	}
	local, _, _ := strings.Cut(email, "@")
	if n, err := agentscope.CleanName("name", local, agentscope.MaxNameLen); err == nil {
		return n
	}
	return "user"
}

func orgName(name string) string {
	n := []rune(name)
	if len(n) > agentscope.MaxNameLen-len("'s organisation") {
		n = n[:agentscope.MaxNameLen-len("'s organisation")]
	}
	return string(n) + "'s organisation"
}

// Principal is who a user is in org now: their membership is read on
// every call, so a removed member loses access at once (ENOTFOUND) and a
// changed role takes effect on the next request.
func (a *Accounts) Principal(ctx context.Context, userID, orgID string) (agentscope.Principal, error) {
	m, err := a.store.GetMembership(ctx, orgID, userID)
	if err != nil {
		return agentscope.Principal{}, err
	}
	return agentscope.Principal{Kind: agentscope.PrincipalUser, OrgID: orgID, UserID: userID, Role: m.Role}, nil
}

// Orgs lists a user's organisations with their role in each.
func (a *Accounts) Orgs(ctx context.Context, userID string) ([]agentscope.UserOrg, error) {
	return a.store.ListUserOrgs(ctx, userID)
}

// User returns a user.
func (a *Accounts) User(ctx context.Context, userID string) (agentscope.User, error) {
	return a.store.GetUser(ctx, userID)
}

// errNoMail answers a link request when no mail server is configured.
var errNoMail = agentscope.Errorf(agentscope.EUNAVAILABLE, "email is not configured on this AgentScope (AGENTSCOPE_SMTP_URL)")

// SendSignInLink mails a single-use sign-in link to email. Whether the
// address has an account is not told: a new one is created when the link
// is used. Too many links to one address are ERATELIMITED.
func (a *Accounts) SendSignInLink(ctx context.Context, email string) error {
	if a.opts.Mailer == nil {
		return errNoMail
	}
	email, err := agentscope.NormalizeEmail(email)
	if err != nil {
		return err
	}
	if err := a.signInLimit.allow(email); err != nil {
		return err
	}
	_, cred, err := a.store.CreateEmailToken(ctx, agentscope.EmailToken{Kind: agentscope.EmailSignIn, Email: email, CreatedBy: "sign-in", ExpiresAt: a.opts.Now().Add(a.opts.LinkTTL)})
	if err != nil {
		return err
	}
	link := a.link("/auth/email/confirm", cred)
	body := fmt.Sprintf("Someone, probably you, asked to sign in to AgentScope as %s.\n\nSign in:\n%s\n\nThe link works once, within %s. If you did not ask, ignore this mail.\n", email, link, a.opts.LinkTTL)
	return a.mail(ctx, email, "Sign in to AgentScope", body)
}

func (a *Accounts) link(path string, cred agentscope.Credential) string {
	return a.opts.PublicURL + path + "?" + url.Values{"token": {cred.Reveal()}}.Encode()
}

func (a *Accounts) mail(ctx context.Context, to, subject, body string) error {
	if err := a.opts.Mailer.Send(ctx, to, subject, body); err != nil {
		a.log.Error("send mail", "err", err)
		return agentscope.Errorf(agentscope.EUNAVAILABLE, "the mail could not be sent; try again later")
	}
	return nil
}

// CheckSignInLink reports whether a sign-in link could be used now, without
// using it (the page that asks to confirm).
func (a *Accounts) CheckSignInLink(ctx context.Context, credential string) (agentscope.EmailToken, error) {
	return a.store.PendingEmailToken(ctx, agentscope.EmailSignIn, credential)
}

// UseSignInLink spends a sign-in link and signs its address in (a first
// sign-in creates the user as SignIn does).
func (a *Accounts) UseSignInLink(ctx context.Context, credential string) (SignedIn, error) {
	e, err := a.store.ConsumeSignInLink(ctx, credential)
	if err != nil {
		return SignedIn{}, err
	}
	return a.SignIn(ctx, Identity{Provider: "email", Email: e.Email})
}

// PendingInvitation is an invitation as its confirmation page shows it.
type PendingInvitation struct {
	agentscope.EmailToken
	OrgName string
}

// CheckInvitation returns the invitation of credential if it could be
// accepted now, without accepting it.
func (a *Accounts) CheckInvitation(ctx context.Context, credential string) (PendingInvitation, error) {
	e, err := a.store.PendingEmailToken(ctx, agentscope.EmailInvitation, credential)
	if err != nil {
		return PendingInvitation{}, err
	}
	o, err := a.store.GetOrg(ctx, e.OrgID)
	if err != nil {
		return PendingInvitation{}, err
	}
	return PendingInvitation{EmailToken: e, OrgName: o.Name}, nil
}

// AcceptInvitation spends an invitation: holding the link shows the holder
// reads its address, so it signs that address in (a first sign-in creates
// the user as SignIn does) and makes them a member with its role, in the
// invitation's organisation.
func (a *Accounts) AcceptInvitation(ctx context.Context, credential string) (SignedIn, error) {
	e, err := a.store.PendingEmailToken(ctx, agentscope.EmailInvitation, credential)
	if err != nil {
		return SignedIn{}, err
	}
	s, err := a.SignIn(ctx, Identity{Provider: "invitation", Email: e.Email})
	if err != nil {
		return SignedIn{}, err
	}
	m, err := a.store.AcceptInvitation(ctx, credential, s.User.ID)
	if err != nil {
		return SignedIn{}, err
	}
	s.OrgID = m.OrgID
	return s, nil
}

// caller is the principal in ctx, allowed action.
func caller(ctx context.Context, action agentscope.Action) (agentscope.Principal, error) {
	p, ok := agentscope.PrincipalFrom(ctx)
	if !ok || p.OrgID == "" {
		return agentscope.Principal{}, agentscope.Errorf(agentscope.EUNAUTHORIZED, "no authenticated caller")
	}
	return p, p.Authorize(action)
}

// Invite mails an invitation to join the caller's organisation with role.
// Members are managed by admins; making someone an owner takes an owner.
// Too many invitations to one address are ERATELIMITED.
func (a *Accounts) Invite(ctx context.Context, email string, role agentscope.Role) (agentscope.EmailToken, error) {
	p, err := caller(ctx, agentscope.ActionManageMembers)
	if err != nil {
		return agentscope.EmailToken{}, err
	}
	if !role.Valid() {
		return agentscope.EmailToken{}, agentscope.FieldErrorf("role", "unknown role %q: want viewer, member, admin or owner", role)
	}
	if role == agentscope.RoleOwner {
		if err := p.Authorize(agentscope.ActionManageOwners); err != nil {
			return agentscope.EmailToken{}, err
		}
	}
	if a.opts.Mailer == nil {
		return agentscope.EmailToken{}, errNoMail
	}
	if email, err = agentscope.NormalizeEmail(email); err != nil {
		return agentscope.EmailToken{}, err
	}
	if a.opts.CheckSeat != nil {
		if err := a.opts.CheckSeat(ctx, p.OrgID); err != nil {
			return agentscope.EmailToken{}, err
		}
	}
	if err := a.inviteLimit.allow(email); err != nil {
		return agentscope.EmailToken{}, err
	}
	org, err := a.store.GetOrg(ctx, p.OrgID)
	if err != nil {
		return agentscope.EmailToken{}, err
	}
	e, cred, err := a.store.CreateEmailToken(ctx, agentscope.EmailToken{Kind: agentscope.EmailInvitation, OrgID: p.OrgID, Role: role, Email: email, CreatedBy: p.Actor(), ExpiresAt: a.opts.Now().Add(a.opts.InvitationTTL)})
	if err != nil {
		return agentscope.EmailToken{}, err
	}
	body := fmt.Sprintf("You are invited to join %s on AgentScope as %s.\n\nAccept the invitation:\n%s\n\nThe link works once, for %s, within %s.\n", org.Name, role, a.link("/invitations/accept", cred), email, a.opts.InvitationTTL)
	if err := a.mail(ctx, email, "Join "+org.Name+" on AgentScope", body); err != nil {
		// Not sent: take it back, so the list shows no invitation nobody
		// received.
		if rerr := a.store.RevokeInvitation(context.WithoutCancel(ctx), p.OrgID, e.ID, p.Actor()); rerr != nil {
			a.log.Warn("withdraw unsent invitation", "invitation", e.ID, "err", rerr)
		}
		return agentscope.EmailToken{}, err
	}
	return e, nil
}

// ListInvitations lists the caller's organisation's pending invitations.
func (a *Accounts) ListInvitations(ctx context.Context) ([]agentscope.EmailToken, error) {
	p, err := caller(ctx, agentscope.ActionManageMembers)
	if err != nil {
		return nil, err
	}
	return a.store.ListInvitations(ctx, p.OrgID)
}

// RevokeInvitation withdraws one of the caller's organisation's
// invitations (another organisation's is ENOTFOUND).
func (a *Accounts) RevokeInvitation(ctx context.Context, id string) error {
	p, err := caller(ctx, agentscope.ActionManageMembers)
	if err != nil {
		return err
	}
	return a.store.RevokeInvitation(ctx, p.OrgID, id, p.Actor())
}

// ListMembers lists the caller's organisation's members; anyone who may
// read the organisation may see who is in it.
func (a *Accounts) ListMembers(ctx context.Context) ([]agentscope.Member, error) {
	p, err := caller(ctx, agentscope.ActionRead)
	if err != nil {
		return nil, err
	}
	return a.store.ListMembers(ctx, p.OrgID)
}

// SetMemberRole changes a member's role. Admins manage members below
// owner; making someone an owner, or an owner something else, takes an
// owner. The store keeps at least one owner.
func (a *Accounts) SetMemberRole(ctx context.Context, userID string, role agentscope.Role) (agentscope.Membership, error) {
	p, err := caller(ctx, agentscope.ActionManageMembers)
	if err != nil {
		return agentscope.Membership{}, err
	}
	if !role.Valid() {
		return agentscope.Membership{}, agentscope.FieldErrorf("role", "unknown role %q: want viewer, member, admin or owner", role)
	}
	m, err := a.store.GetMembership(ctx, p.OrgID, userID)
	if err != nil {
		return agentscope.Membership{}, err
	}
	if role == agentscope.RoleOwner || m.Role == agentscope.RoleOwner {
		if err := p.Authorize(agentscope.ActionManageOwners); err != nil {
			return agentscope.Membership{}, err
		}
	}
	return a.store.SetMemberRole(ctx, p.OrgID, userID, role, p.Actor())
}

// RemoveMember takes a member out of the caller's organisation; removing
// an owner takes an owner, and the store keeps at least one. Anyone may
// leave an organisation themselves.
func (a *Accounts) RemoveMember(ctx context.Context, userID string) error {
	p, ok := agentscope.PrincipalFrom(ctx)
	self := ok && p.Kind == agentscope.PrincipalUser && p.UserID == userID
	if !self {
		var err error
		if p, err = caller(ctx, agentscope.ActionManageMembers); err != nil {
			return err
		}
	}
	m, err := a.store.GetMembership(ctx, p.OrgID, userID)
	if err != nil {
		return err
	}
	if m.Role == agentscope.RoleOwner && !self {
		if err := p.Authorize(agentscope.ActionManageOwners); err != nil {
			return err
		}
	}
	return a.store.RemoveMember(ctx, p.OrgID, userID, p.Actor())
}

// RecordSignIn writes a sign-in into orgID's audit log: actor (a
// Principal's Actor, "user:<id>" or "instance") opened a session there by
// method (a provider's name, "email", "invitation", "token" or "switch").
func (a *Accounts) RecordSignIn(ctx context.Context, orgID, actor, method string) error {
	detail, err := json.Marshal(map[string]string{"method": method})
	if err != nil {
		return err
	}
	_, err = a.store.AppendAudit(ctx, agentscope.AuditEntry{OrgID: orgID, Actor: actor, Action: agentscope.AuditSignIn, Target: actor, Detail: detail})
	return err
}
