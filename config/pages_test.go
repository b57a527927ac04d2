package config

import (
	"strings"
	"testing"
)

func TestPagesSettings(t *testing.T) {
	base := []string{"store:", "  sqlite: {}"}
	for _, c := range []struct {
		name string
		more []string
		want string // "" for valid
	}{
		{"teams-only", []string{"privacy: teams-only"}, ""},
		{"unknown privacy", []string{"privacy: anonymous"}, `privacy: want "teams-only" or nothing, got "anonymous"`},
		{"bearer token", []string{"server:", "  listen: 0.0.0.0:9420", "  auth:", "    bearer_token_env: PAGES_TOKEN"}, ""},
		{"basic auth", []string{"server:", "  auth:", "    basic_user: ops", "    basic_password_file: /run/secrets/pages"}, ""},
		{"both token sources", []string{"server:", "  auth:", "    bearer_token_env: A", "    bearer_token_file: /f"}, "give bearer_token_env or bearer_token_file, not both"},
		{"user without password", []string{"server:", "  auth:", "    basic_user: ops"}, `basic_user "ops" needs basic_password_env or basic_password_file`},
		{"password without user", []string{"server:", "  auth:", "    basic_password_env: P"}, "a basic-auth password is configured without basic_user"},
		{"colon in the user", []string{"server:", "  auth:", "    basic_user: ops:admin", "    basic_password_env: P"}, `"ops:admin" contains ":"`},
		{"inline token", []string{"server:", "  auth:", "    bearer_token: abc"}, "unknown field"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := Parse(doc(append(append([]string{}, base...), c.more...)...), "f.yaml")
			if c.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if c.name == "teams-only" && !cfg.TeamsOnly() {
					t.Error("privacy: teams-only is not TeamsOnly")
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want one containing %q", err, c.want)
			}
		})
	}
	t.Setenv("PAGES_TOKEN", "s3cret")
	a := PagesAuth{BearerTokenEnv: "PAGES_TOKEN"}
	if tok, err := a.BearerToken(); err != nil || tok != "s3cret" || !a.Configured() {
		t.Errorf("BearerToken = %q, %v; Configured %v", tok, err, a.Configured())
	}
	if (&PagesAuth{}).Configured() {
		t.Error("no credentials are Configured")
	}
}
