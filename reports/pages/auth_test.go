package pages

import (
	"encoding/base64"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flowmeter/flowmeter/config"
)

func basic(user, password string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+password))
}

func TestCredentials(t *testing.T) {
	reports := &fakeReports{teams: []string{"payments"}}
	const token, user, password = "t0ken-of-the-pages", "ops", "pa55word"
	for _, tt := range []struct {
		name      string
		creds     Credentials
		challenge string
		allowed   []string // Authorization headers let in
		refused   []string // and refused
	}{
		{"bearer", Credentials{BearerToken: token}, `Bearer realm="flowmeter"`,
			[]string{"Bearer " + token, "bearer " + token},
			[]string{"", "Bearer ", "Bearer " + token + "x", "Bearer " + token[:5], "Token " + token, basic(user, token), token}},
		{"basic", Credentials{BasicUser: user, BasicPassword: password}, `Basic realm="flowmeter", charset="UTF-8"`,
			[]string{basic(user, password)},
			[]string{"", basic(user, "wrong"), basic("someone", password), basic(user, ""), basic("", password), "Bearer " + password}},
		{"both", Credentials{BearerToken: token, BasicUser: user, BasicPassword: password}, `Basic realm="flowmeter", charset="UTF-8"`,
			[]string{"Bearer " + token, basic(user, password)},
			[]string{"", "Bearer " + password, basic(user, token)}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHandler(reports, tt.creds)
			for _, target := range []string{"/", "/reports/flow?team=payments"} {
				for _, auth := range tt.allowed {
					if got := serve(h, http.MethodGet, target, http.Header{"Authorization": {auth}}); got.code != http.StatusOK {
						t.Errorf("GET %s with %q = %d %q, want 200", target, auth, got.code, got.body)
					}
				}
				for _, auth := range tt.refused {
					got := serve(h, http.MethodGet, target, http.Header{"Authorization": {auth}})
					if got.code != http.StatusUnauthorized || got.header.Get("WWW-Authenticate") != tt.challenge ||
						!strings.Contains(got.body, "server.auth") || strings.Contains(got.body, "<h1>") {
						t.Errorf("GET %s with %q = %d, WWW-Authenticate %q, %q; want 401 and %q", target, auth, got.code,
							got.header.Get("WWW-Authenticate"), got.body, tt.challenge)
					}
				}
			}
		})
	}
}

func TestResolveCredentials(t *testing.T) {
	t.Setenv("PAGES_TOKEN", "from-env")
	dir := t.TempDir()
	file := filepath.Join(dir, "password")
	if err := os.WriteFile(file, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := ResolveCredentials(config.PagesAuth{BearerTokenEnv: "PAGES_TOKEN", BasicUser: "ops", BasicPasswordFile: file})
	if err != nil || c != (Credentials{BearerToken: "from-env", BasicUser: "ops", BasicPassword: "from-file"}) || !c.Configured() {
		t.Errorf("ResolveCredentials = %+v, %v", c, err)
	}
	if c, err := ResolveCredentials(config.PagesAuth{}); err != nil || c.Configured() {
		t.Errorf("nothing configured: %+v, %v", c, err)
	}
	for _, tt := range []struct {
		auth config.PagesAuth
		want string
	}{
		{config.PagesAuth{BearerTokenEnv: "NO_SUCH_PAGES_TOKEN"}, "server.auth.bearer_token_env: environment variable NO_SUCH_PAGES_TOKEN is not set"},
		{config.PagesAuth{BearerTokenFile: filepath.Join(dir, "none")}, "server.auth.bearer_token_file: cannot read secret file"},
		{config.PagesAuth{BasicUser: "ops", BasicPasswordEnv: "NO_SUCH_PAGES_PASSWORD"}, "server.auth.basic_password_env: environment variable NO_SUCH_PAGES_PASSWORD is not set"},
		{config.PagesAuth{BasicUser: "ops", BasicPasswordFile: filepath.Join(dir, "none")}, "server.auth.basic_password_file: cannot read secret file"},
	} {
		if _, err := ResolveCredentials(tt.auth); err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("%+v: %v, want %q", tt.auth, err, tt.want)
		}
	}
}
