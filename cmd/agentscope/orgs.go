package main

import (
	"context"
	"flag"
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/agentscope/agentscope"
	"github.com/agentscope/agentscope/billing"
)

// The operator's commands for organisations and API keys: they act on the
// database directly (no server needed), as the operator, whom the audit
// log names "operator". --json prints what scripts read.

// openIdentityStore opens the configured store for orgs and keys. The
// caller closes it.
func openIdentityStore(ctx context.Context, env *Env, name string, cfg Config) (identityStore, func() error, error) {
	st, _, _, desc, err := openStore(ctx, cfg, cfg.oneShotLogger(env))
	if err != nil {
		return nil, nil, err
	}
	fmt.Fprintf(env.Stderr, "agentscope %s: data dir %s, store %s\n", name, cfg.DataDir, desc)
	return st, st.Close, nil
}

// runOrgs is `agentscope orgs create NAME | list | delete ID --confirm NAME`.
func runOrgs(ctx context.Context, env *Env, args []string) error {
	sub, rest, err := subcommand("orgs", args, "create", "list", "delete")
	if err != nil {
		return err
	}
	var (
		cfg     Config
		asJSON  bool
		confirm string
	)
	pos, err := env.parseFlags("orgs "+sub, rest, &cfg, storeFlags, func(fs *flag.FlagSet) {
		fs.BoolVar(&asJSON, "json", false, "print JSON")
		if sub == "delete" {
			fs.StringVar(&confirm, "confirm", "", "the organisation's exact `name`, to confirm")
		}
	})
	if err != nil {
		return err
	}
	if sub == "create" && len(pos) != 1 {
		return usageError{"usage: agentscope orgs create NAME [--json] (quote a name with spaces)"}
	} else if sub == "delete" && len(pos) != 1 {
		return usageError{"usage: agentscope orgs delete ORG_ID --confirm NAME [--json] (deletes the organisation and everything it holds)"}
	} else if sub == "delete" && pos[0] == agentscope.DefaultOrgID {
		return usageError{"the default organisation belongs to the instance token and cannot be deleted"}
	} else if sub == "list" {
		if err := noArgs(pos, nil); err != nil {
			return err
		}
	}
	s, closeStore, err := openIdentityStore(ctx, env, "orgs", cfg)
	if err != nil {
		return err
	}
	defer closeStore()
	if sub == "delete" {
		return deleteOrg(ctx, env, s, pos[0], confirm, asJSON)
	}
	if sub == "create" {
		// The operator sees every organisation, so refusing a name one has
		// tells nothing it could not list; people's own organisations, made
		// at their first sign-in, may share names and are not checked.
		orgs, err := s.ListOrgs(ctx)
		if err != nil {
			return err
		}
		for _, o := range orgs {
			if agentscope.OrgNameKey(o.Name) == agentscope.OrgNameKey(pos[0]) {
				return fmt.Errorf("organisation %s is named %q already: names tell organisations apart in the web UI's switcher and in orgs delete --confirm; choose another name", o.ID, o.Name)
			}
		}
		o, err := s.CreateOrg(ctx, pos[0], agentscope.ActorOperator)
		if err != nil {
			return cliError(err)
		}
		if asJSON {
			return printJSON(env.Stdout, map[string]string{"id": o.ID, "name": o.Name})
		}
		fmt.Fprintf(env.Stdout, "organisation %s created: %s\n", o.Name, o.ID)
		return nil
	}
	orgs, err := s.ListOrgs(ctx)
	if err != nil {
		return err
	}
	if asJSON {
		return printJSON(env.Stdout, map[string]any{"orgs": orgs})
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tCREATED")
	for _, o := range orgs {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", o.ID, o.Name, o.CreatedAt.Format(time.RFC3339))
	}
	return tw.Flush()
}

// deleteOrg deletes organisation id once confirm is its exact name, and
// prints how many rows each table lost.
func deleteOrg(ctx context.Context, env *Env, s identityStore, id, confirm string, asJSON bool) error {
	o, err := s.GetOrg(ctx, id)
	if err != nil {
		return cliError(err)
	}
	if confirm != o.Name {
		return usageError{fmt.Sprintf("--confirm must be the organisation's name, %q, exactly: deleting it deletes everything it holds", o.Name)}
	}
	deleted, err := s.DeleteOrg(ctx, id)
	if err != nil {
		return cliError(err)
	}
	if asJSON {
		return printJSON(env.Stdout, map[string]any{"id": o.ID, "name": o.Name, "deleted": deleted})
	}
	fmt.Fprintf(env.Stdout, "organisation %s (%s) deleted: %d events, %d runs, %d agents, %d keys, %d members\n",
		o.Name, o.ID, deleted["events"], deleted["runs"], deleted["agents"], deleted["api_keys"], deleted["memberships"])
	return nil
}

// createdKey is what keys create prints with --json.
type createdKey struct {
	ID        string             `json:"id"`
	Key       string             `json:"key"`
	Prefix    string             `json:"prefix"`
	Scopes    []agentscope.Scope `json:"scopes"`
	ExpiresAt *time.Time         `json:"expires_at,omitempty"`
}

// runKeys is `agentscope keys create | list | revoke ID`.
func runKeys(ctx context.Context, env *Env, args []string) error {
	sub, rest, err := subcommand("keys", args, "create", "list", "revoke")
	if err != nil {
		return err
	}
	var (
		cfg                  Config
		org, name, scopeList string
		expires              string
		asJSON               bool
	)
	pos, err := env.parseFlags("keys "+sub, rest, &cfg, storeFlags, func(fs *flag.FlagSet) {
		fs.BoolVar(&asJSON, "json", false, "print JSON")
		switch sub {
		case "create":
			fs.StringVar(&org, "org", "", "the organisation the key acts in (required; agentscope orgs list)")
			fs.StringVar(&name, "name", "", "what the key is for, e.g. ci-pipeline (required)")
			fs.StringVar(&scopeList, "scopes", "", "comma-separated scopes (required): ingest (record), read (replay, search, reports), run (managed runs, investigate), admin (everything the others allow, and agents, budgets, alerts, keys, members)")
			fs.StringVar(&expires, "expires", "", "when the key stops working, as RFC 3339 (2027-01-31T00:00:00Z); default never")
		case "list":
			fs.StringVar(&org, "org", "", "the organisation (required)")
		case "revoke":
			fs.StringVar(&org, "org", "", "the key's organisation (default: whichever it is)")
		}
	})
	if err != nil {
		return err
	}
	var key agentscope.APIKey
	switch sub {
	case "create":
		if key, err = keyFromFlags(org, name, scopeList, expires, pos); err != nil {
			return err
		}
	case "list":
		if err := noArgs(pos, nil); err != nil {
			return err
		} else if org == "" {
			return usageError{"--org is required: the organisation whose keys to list (agentscope orgs list)"}
		}
	case "revoke":
		if len(pos) != 1 {
			return usageError{"usage: agentscope keys revoke ID [--org ORG_ID] [--json] (the key's id, as keys list shows it)"}
		}
	}
	st, shared, _, desc, err := openStore(ctx, cfg, cfg.oneShotLogger(env))
	if err != nil {
		return err
	}
	defer st.Close()
	fmt.Fprintf(env.Stderr, "agentscope keys: data dir %s, store %s\n", cfg.DataDir, desc)
	var s identityStore = st
	switch sub {
	case "create":
		// The organisation's plan bounds its active keys here as in the
		// API (found trying it as a new user: the CLI went past it).
		if err := billing.NewSharedService(shared, st, nil).CheckAPIKey(ctx, key.OrgID); err != nil {
			return cliError(err)
		}
		k, cred, err := s.CreateAPIKey(ctx, key)
		if err != nil {
			return cliError(err)
		}
		if asJSON {
			return printJSON(env.Stdout, createdKey{ID: k.ID, Key: cred.Reveal(), Prefix: k.Prefix, Scopes: k.Scopes, ExpiresAt: k.ExpiresAt})
		}
		fmt.Fprintln(env.Stdout, cred.Reveal())
		fmt.Fprintf(env.Stderr, "agentscope keys: key %s (%s) for organisation %s with scopes %s: store it now, it is not shown again\n",
			k.ID, k.Name, k.OrgID, agentscope.JoinScopes(k.Scopes))
		return nil
	case "list":
		keys, err := s.ListAPIKeys(ctx, org)
		if err != nil {
			return cliError(err)
		}
		if len(keys) == 0 {
			// An organisation without keys and one that does not exist
			// list alike through the store; an operator wants to know.
			if _, err := s.GetOrg(ctx, org); err != nil {
				return cliError(err)
			}
		}
		if asJSON {
			return printJSON(env.Stdout, map[string]any{"keys": keys})
		}
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tPREFIX\tNAME\tSCOPES\tCREATED\tEXPIRES\tLAST_USED\tSTATE")
		for _, k := range keys {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Prefix, k.Name, agentscope.JoinScopes(k.Scopes),
				k.CreatedAt.Format(time.RFC3339), timeOrDash(k.ExpiresAt), timeOrDash(k.LastUsedAt), keyState(k, time.Now()))
		}
		return tw.Flush()
	default:
		if org == "" {
			if org, err = s.APIKeyOrg(ctx, pos[0]); err != nil {
				return cliError(err)
			}
		}
		prior, err := s.GetAPIKey(ctx, org, pos[0])
		if err != nil {
			return cliError(err)
		}
		k, err := s.RevokeAPIKey(ctx, org, pos[0], agentscope.ActorOperator)
		if err != nil {
			return cliError(err)
		}
		if asJSON {
			return printJSON(env.Stdout, k)
		}
		if prior.RevokedAt != nil {
			// Revoking is idempotent; saying "revoked" again would hide
			// that it already was, and since when.
			fmt.Fprintf(env.Stdout, "key %s (%s, %s) was already revoked at %s\n", k.ID, k.Name, k.Prefix, k.RevokedAt.UTC().Format(time.RFC3339))
			return nil
		}
		fmt.Fprintf(env.Stdout, "key %s (%s, %s) revoked\n", k.ID, k.Name, k.Prefix)
		return nil
	}
}

// keyFromFlags checks keys create's flags before the store is opened, so a
// mistake is named without touching the database.
func keyFromFlags(org, name, scopeList, expires string, pos []string) (agentscope.APIKey, error) {
	if err := noArgs(pos, nil); err != nil {
		return agentscope.APIKey{}, err
	}
	switch {
	case org == "":
		return agentscope.APIKey{}, usageError{"--org is required: the organisation the key acts in (agentscope orgs list)"}
	case name == "":
		return agentscope.APIKey{}, usageError{"--name is required: what the key is for"}
	case scopeList == "":
		return agentscope.APIKey{}, usageError{"--scopes is required: a comma-separated list of ingest, read, run and admin"}
	}
	scopes, err := agentscope.ParseScopes(scopeList)
	if err != nil {
		return agentscope.APIKey{}, usageError{"--" + err.Error()}
	}
	k := agentscope.APIKey{OrgID: org, Name: name, Scopes: scopes, CreatedBy: agentscope.ActorOperator}
	if expires != "" {
		at, err := time.Parse(time.RFC3339, expires)
		if err != nil {
			return k, usageError{fmt.Sprintf("--expires %q is not an RFC 3339 time such as 2027-01-31T00:00:00Z", expires)}
		}
		if !at.After(time.Now()) {
			return k, usageError{fmt.Sprintf("--expires %s is not in the future", expires)}
		}
		k.ExpiresAt = &at
	}
	return k, nil
}

func timeOrDash(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.Format(time.RFC3339)
}

func keyState(k agentscope.APIKey, now time.Time) string {
	switch {
	case k.RevokedAt != nil:
		return "revoked"
	case !k.Usable(now):
		return "expired"
	}
	return "active"
}
