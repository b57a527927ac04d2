package pages

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"net/http"
	"strings"

	"github.com/flowmeter/flowmeter/config"
)

// Credentials are what a request must carry to read the pages; zero means the
// pages are open, as they are to anyone on a loopback listener.
type Credentials struct {
	// BearerToken is accepted as "Authorization: Bearer <token>".
	BearerToken string
	// BasicUser and BasicPassword are accepted as HTTP basic auth, which a browser
	// asks for.
	BasicUser, BasicPassword string
}

// ResolveCredentials reads the secrets server.auth names, once at start-up; an
// error names the setting that could not be resolved.
func ResolveCredentials(a config.PagesAuth) (Credentials, error) {
	var c Credentials
	var err error
	if c.BearerToken, err = a.BearerToken(); err != nil {
		return Credentials{}, fmt.Errorf("server.auth.%s: %w", orSetting(a.BearerTokenEnv, "bearer_token_env", "bearer_token_file"), err)
	}
	c.BasicUser = a.BasicUser
	if c.BasicPassword, err = a.BasicPassword(); err != nil {
		return Credentials{}, fmt.Errorf("server.auth.%s: %w", orSetting(a.BasicPasswordEnv, "basic_password_env", "basic_password_file"), err)
	}
	return c, nil
}

// orSetting names the env setting when it is set, else the file setting.
func orSetting(env, envSetting, fileSetting string) string {
	if env != "" {
		return envSetting
	}
	return fileSetting
}

// Configured says whether the pages require credentials.
func (c Credentials) Configured() bool { return c.BearerToken != "" || c.BasicUser != "" }

// allows says whether r carries the credentials. Every comparison is of SHA-256
// digests, equal in length whatever was sent, in constant time, so that the time
// taken tells nothing of the secret.
func (c Credentials) allows(r *http.Request) bool {
	if !c.Configured() {
		return true
	}
	if c.BearerToken != "" {
		scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
		if ok && strings.EqualFold(scheme, "Bearer") && same(strings.TrimSpace(token), c.BearerToken) == 1 {
			return true
		}
	}
	if c.BasicUser != "" {
		if user, password, ok := r.BasicAuth(); ok && same(user, c.BasicUser)&same(password, c.BasicPassword) == 1 {
			return true
		}
	}
	return false
}

// same is 1 when a and b are equal, else 0.
func same(a, b string) int {
	da, db := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(da[:], db[:])
}

// challenge is the WWW-Authenticate header of a refusal: basic auth when it is
// configured, so that a browser asks for the user and password.
func (c Credentials) challenge() string {
	if c.BasicUser != "" {
		return `Basic realm="flowmeter", charset="UTF-8"`
	}
	return `Bearer realm="flowmeter"`
}
