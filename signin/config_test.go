package signin_test

import (
	"strings"
	"testing"

	"github.com/agentscope/agentscope/signin"
)

func TestConfigFromEnv(t *testing.T) {
	env := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	c, err := signin.ConfigFromEnv(env(), "http://127.0.0.1:8080")
	if err != nil || c.Enabled() {
		t.Fatalf("no settings = %+v, %v; want nothing configured", c, err)
	}
	c, err = signin.ConfigFromEnv(env(
		"AGENTSCOPE_OIDC_ISSUER", "https://id.example.com", "AGENTSCOPE_OIDC_CLIENT_ID", "cid", "AGENTSCOPE_OIDC_CLIENT_SECRET", "cs",
		"AGENTSCOPE_OAUTH_GITHUB_CLIENT_ID", "gh", "AGENTSCOPE_OAUTH_GITHUB_CLIENT_SECRET", "ghs",
		"AGENTSCOPE_SMTP_URL", "smtps://u:p%40ss@mail.example.com", "AGENTSCOPE_EMAIL_FROM", "AgentScope <scope@example.com>",
		"AGENTSCOPE_PUBLIC_URL", "https://scope.example.com/"), "http://127.0.0.1:8080")
	if err != nil || !c.OIDC.Enabled() || !c.GitHub.Enabled() || c.Discord.Enabled() || c.PublicURL != "https://scope.example.com" ||
		c.SMTP.Host != "mail.example.com" || c.SMTP.Port != 465 || !c.SMTP.TLS || c.SMTP.Password != "p@ss" || c.SMTP.From != "scope@example.com" {
		t.Fatalf("config = %+v, %v", c, err)
	}
	for name, tc := range map[string]struct {
		env  []string
		want string
	}{
		"issuer without client": {[]string{"AGENTSCOPE_OIDC_ISSUER", "https://id.example.com"}, "AGENTSCOPE_OIDC_CLIENT_ID"},
		"issuer not a URL":      {[]string{"AGENTSCOPE_OIDC_ISSUER", "id.example.com", "AGENTSCOPE_OIDC_CLIENT_ID", "x"}, "AGENTSCOPE_OIDC_ISSUER"},
		"github without secret": {[]string{"AGENTSCOPE_OAUTH_GITHUB_CLIENT_ID", "x"}, "AGENTSCOPE_OAUTH_GITHUB_CLIENT_SECRET"},
		"discord without id":    {[]string{"AGENTSCOPE_OAUTH_DISCORD_CLIENT_SECRET", "x"}, "AGENTSCOPE_OAUTH_DISCORD_CLIENT_ID"},
		"smtp without from":     {[]string{"AGENTSCOPE_SMTP_URL", "smtp://mail:25"}, "AGENTSCOPE_EMAIL_FROM"},
		"smtp bad scheme":       {[]string{"AGENTSCOPE_SMTP_URL", "http://mail:25", "AGENTSCOPE_EMAIL_FROM", "a@b.c"}, "AGENTSCOPE_SMTP_URL"},
		"bad from":              {[]string{"AGENTSCOPE_SMTP_URL", "smtp://mail:25", "AGENTSCOPE_EMAIL_FROM", "nobody"}, "AGENTSCOPE_EMAIL_FROM"},
		"bad public URL":        {[]string{"AGENTSCOPE_SMTP_URL", "smtp://mail:25", "AGENTSCOPE_EMAIL_FROM", "a@b.c", "AGENTSCOPE_PUBLIC_URL", "scope.example.com"}, "AGENTSCOPE_PUBLIC_URL"},
	} {
		_, err := signin.ConfigFromEnv(env(tc.env...), "http://127.0.0.1:8080")
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want one naming %s", name, err, tc.want)
		}
	}
	_, err = signin.ConfigFromEnv(env("AGENTSCOPE_SMTP_URL", "smtp://user:hunter2@mail:99999", "AGENTSCOPE_EMAIL_FROM", "a@b.c"), "")
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("bad port: %v (must not repeat the password)", err)
	}
}

func TestParseSMTPURL(t *testing.T) {
	for in, want := range map[string]signin.SMTPConfig{
		"smtp://mail.example.com":             {Host: "mail.example.com", Port: 587},
		"smtp://u:p@127.0.0.1:1025":           {Host: "127.0.0.1", Port: 1025, Username: "u", Password: "p"},
		"smtps://mail.example.com:2465/":      {Host: "mail.example.com", Port: 2465, TLS: true},
		"smtp://%75ser:pa%3Ass@[::1]:25":      {Host: "::1", Port: 25, Username: "user", Password: "pa:ss"},
		"smtps://apikey@smtp.example.net:465": {Host: "smtp.example.net", Port: 465, TLS: true, Username: "apikey"},
	} {
		got, err := signin.ParseSMTPURL(in)
		if err != nil || got != want {
			t.Errorf("ParseSMTPURL(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "mail:25", "smtp://", "smtp://:25", "smtp://mail:0", "smtp://mail:x", "smtp://mail/path", "smtp://mail?x=1", "smtp://u:p%0A@mail"} {
		if _, err := signin.ParseSMTPURL(in); err == nil {
			t.Errorf("ParseSMTPURL(%q) accepted", in)
		}
	}
}

func FuzzParseSMTPURL(f *testing.F) {
	for _, s := range []string{"smtp://u:p@127.0.0.1:1025", "smtps://mail.example.com", "smtp://%zz@x", "smtp://[::1", "smtp://u:secret-pass@h:70000"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := signin.ParseSMTPURL(s)
		if err != nil {
			if _, pass, ok := strings.Cut(s, ":"); ok && len(pass) > 8 && strings.Contains(err.Error(), pass) {
				t.Fatalf("error %q repeats the input", err)
			}
			return
		}
		if c.Host == "" || c.Port < 1 || c.Port > 65535 || strings.ContainsAny(c.Host+c.Username+c.Password, "\r\n\x00") {
			t.Fatalf("ParseSMTPURL(%q) = %+v", s, c)
		}
	})
}
