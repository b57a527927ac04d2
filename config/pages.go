package config

import "strings"

// PrivacyTeamsOnly is the privacy setting that replaces people's names with their
// team in every report, page and export: DORA's advice is to measure teams, never
// to rank individuals.
const PrivacyTeamsOnly = "teams-only"

// TeamsOnly says whether outputs must name teams instead of people.
func (c *Config) TeamsOnly() bool { return c.Privacy == PrivacyTeamsOnly }

// PagesAuth are the credentials the built-in report pages require. The pages name
// people (toil entries), so anywhere but on loopback they need one of these; each
// secret is given by reference, an environment variable or a file, never inline.
type PagesAuth struct {
	// BearerTokenEnv / BearerTokenFile hold a token sent as "Authorization: Bearer".
	BearerTokenEnv  string `yaml:"bearer_token_env,omitempty"`
	BearerTokenFile string `yaml:"bearer_token_file,omitempty"`
	// BasicUser with BasicPasswordEnv / BasicPasswordFile is HTTP basic auth, for
	// people opening the pages in a browser.
	BasicUser         string `yaml:"basic_user,omitempty"`
	BasicPasswordEnv  string `yaml:"basic_password_env,omitempty"`
	BasicPasswordFile string `yaml:"basic_password_file,omitempty"`
}

// Configured says whether any credential is configured.
func (a *PagesAuth) Configured() bool {
	return a.BearerTokenEnv != "" || a.BearerTokenFile != "" || a.BasicUser != ""
}

// BearerToken resolves the bearer token; "" when none is configured.
func (a *PagesAuth) BearerToken() (string, error) {
	if a.BearerTokenEnv == "" && a.BearerTokenFile == "" {
		return "", nil
	}
	return ResolveSecret(a.BearerTokenEnv, a.BearerTokenFile)
}

// BasicPassword resolves the basic-auth password; "" when no basic user is set.
func (a *PagesAuth) BasicPassword() (string, error) {
	if a.BasicUser == "" {
		return "", nil
	}
	return ResolveSecret(a.BasicPasswordEnv, a.BasicPasswordFile)
}

func (c *Config) validatePages(v *validator) {
	switch c.Privacy {
	case "", PrivacyTeamsOnly:
	default:
		v.add("privacy", "want %q or nothing, got %q", PrivacyTeamsOnly, c.Privacy)
	}
	a := &c.Server.Auth
	if a.BearerTokenEnv != "" && a.BearerTokenFile != "" {
		v.add("server.auth.bearer_token_env", "give bearer_token_env or bearer_token_file, not both")
	}
	if strings.Contains(a.BasicUser, ":") {
		// Basic auth parts user and password at the first colon (RFC 7617).
		v.add("server.auth.basic_user", "%q contains \":\", which basic auth cannot carry in a user name", a.BasicUser)
	}
	hasPassword := a.BasicPasswordEnv != "" || a.BasicPasswordFile != ""
	switch {
	case a.BasicUser == "" && hasPassword:
		v.add("server.auth.basic_user", "a basic-auth password is configured without basic_user")
	case a.BasicUser != "" && !hasPassword:
		v.add("server.auth.basic_password_env", "basic_user %q needs basic_password_env or basic_password_file", a.BasicUser)
	case a.BasicPasswordEnv != "" && a.BasicPasswordFile != "":
		v.add("server.auth.basic_password_env", "give basic_password_env or basic_password_file, not both")
	}
}
