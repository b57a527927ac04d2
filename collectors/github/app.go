package github

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// gitHubAPI is github.com's REST API root, where an App mints its tokens when no
// base_url is set.
const gitHubAPI = "https://api.github.com/"

const (
	// jwtBackdate sets the App JWT's iat this far in the past, as GitHub recommends,
	// so a host clock running a little fast is not refused.
	jwtBackdate = time.Minute
	// jwtLifetime is how long after now the App JWT expires: GitHub refuses an exp
	// more than 10 minutes ahead of its clock, so a minute is left for a fast host
	// clock. A JWT serves one mint, so its length matters little.
	jwtLifetime = 9 * time.Minute
	// refreshMargin is how long before its expiry an installation token is replaced:
	// a request signed just before the margin may run up to the source's 2-minute
	// timeout, which leaves 3 minutes for the host clock to lag GitHub's before a
	// request meets an expired token. It costs a mint every 55 minutes instead of 60.
	refreshMargin = 5 * time.Minute
	// refusalHold is how long a refused mint is not asked again: a collection started
	// in that time (the daemon's next, a retry) fails at once with GitHub's answer
	// instead of asking GitHub again.
	refusalHold = time.Minute
)

// appAuth is the GitHub App installation a source authenticates as.
type appAuth struct {
	id             int64
	installationID int64
	key            *rsa.PrivateKey
}

func (a *appAuth) String() string {
	return fmt.Sprintf("GitHub App %d, installation %d", a.id, a.installationID)
}

// jwt is the token the App authenticates as itself with, to mint installation
// tokens: RS256, issued by the App's id.
func (a *appAuth) jwt(now time.Time) (string, error) {
	claims := jwt.RegisteredClaims{
		Issuer:    strconv.FormatInt(a.id, 10),
		IssuedAt:  jwt.NewNumericDate(now.Add(-jwtBackdate)),
		ExpiresAt: jwt.NewNumericDate(now.Add(jwtLifetime)),
	}
	return jwt.NewWithClaims(jwt.SigningMethodRS256, claims).SignedString(a.key)
}

// parsePrivateKey reads the App's private key: PEM, PKCS#1 as GitHub's downloaded
// .pem holds it, or PKCS#8 as a key converted by openssl. Errors never quote the text.
func parsePrivateKey(text string) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode([]byte(text))
	if block == nil {
		return nil, errors.New("not a PEM private key: give the .pem file GitHub generated for the App (it starts with -----BEGIN RSA PRIVATE KEY-----)")
	}
	if strings.Contains(block.Type, "PUBLIC KEY") || block.Type == "CERTIFICATE" {
		return nil, fmt.Errorf("the PEM holds a %s: give the App's private key", strings.ToLower(block.Type))
	}
	if key, err := x509.ParsePKCS1PrivateKey(block.Bytes); err == nil {
		return key, nil
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		return nil, fmt.Errorf("the PEM block (%s) is not an RSA private key in PKCS#1 or PKCS#8 form", block.Type)
	}
	switch key := parsed.(type) {
	case *rsa.PrivateKey:
		return key, nil
	case *ecdsa.PrivateKey:
		return nil, errors.New("the private key is an ECDSA key: GitHub Apps sign with RSA (RS256)")
	case ed25519.PrivateKey:
		return nil, errors.New("the private key is an Ed25519 key: GitHub Apps sign with RSA (RS256)")
	}
	return nil, errors.New("the private key is not an RSA key: GitHub Apps sign with RSA (RS256)")
}

// tokenSource is the source of the token requests are signed with: the App's
// installation tokens when an App is set, else the token given.
func (r *resolved) tokenSource(base http.RoundTripper) tokenSource {
	if r.app == nil {
		return staticToken(r.token)
	}
	return newInstallationTokens(r.app, r.baseURL, base)
}

// installationTokens mints an App installation's access tokens and keeps the
// current one until refreshMargin before it expires. Mints go straight to GitHub,
// not through the source's rate-limit transport: GitHub counts them against the
// App's own limit, and their rate-limit headers would be mistaken for the
// installation's.
type installationTokens struct {
	app    *appAuth
	mintAt string // the access_tokens URL
	client *http.Client
	now    func() time.Time

	// mu is held through a mint, so concurrent requests wait for one mint.
	mu        sync.Mutex
	token     string
	expires   time.Time
	refusal   error // the last mint GitHub refused, repeated until refusedAt+refusalHold
	refusedAt time.Time
}

func newInstallationTokens(app *appAuth, baseURL string, base http.RoundTripper) *installationTokens {
	if baseURL == "" {
		baseURL = gitHubAPI
	}
	return &installationTokens{
		app:    app,
		mintAt: fmt.Sprintf("%sapp/installations/%d/access_tokens", baseURL, app.installationID),
		client: &http.Client{Transport: base, Timeout: time.Minute},
		now:    time.Now,
	}
}

// Token returns the current installation token, minting one when there is none or
// the one held expires within refreshMargin.
func (it *installationTokens) Token(ctx context.Context) (string, error) {
	it.mu.Lock()
	defer it.mu.Unlock()
	now := it.now()
	if it.token != "" && now.Before(it.expires.Add(-refreshMargin)) {
		return it.token, nil
	}
	if it.refusal != nil && now.Before(it.refusedAt.Add(refusalHold)) {
		return "", it.refusal
	}
	token, expires, err := it.mint(ctx, now)
	if err != nil {
		var refused *appRefusedError
		if errors.As(err, &refused) {
			it.refusal, it.refusedAt = err, now
		}
		return "", err
	}
	it.token, it.expires, it.refusal = token, expires, nil
	return token, nil
}

// refused drops a token GitHub answered 401 to although it had not expired by this
// host's clock (revoked, or the clocks disagree), so the next request mints anew.
// A token already replaced by another request is left alone.
func (it *installationTokens) refused(token string) {
	it.mu.Lock()
	defer it.mu.Unlock()
	if it.token == token {
		it.token = ""
	}
}

// installationToken is the documented answer of the access_tokens endpoint, the
// fields flowmeter reads.
type installationToken struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
}

// mint asks GitHub for a new installation token, authenticating as the App.
func (it *installationTokens) mint(ctx context.Context, now time.Time) (string, time.Time, error) {
	signed, err := it.app.jwt(now)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("%s: signing the App's JWT: %w", it.app, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, it.mintAt, nil)
	if err != nil {
		return "", time.Time{}, err
	}
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
	req.Header.Set("Authorization", "Bearer "+signed)
	resp, err := it.client.Do(req)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("%s: minting an installation token: %w", it.app, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return "", time.Time{}, fmt.Errorf("%s: minting an installation token: %w", it.app, err)
	}
	if resp.StatusCode != http.StatusCreated {
		return "", time.Time{}, it.mintError(resp.StatusCode, body)
	}
	var tok installationToken
	if err := json.Unmarshal(body, &tok); err != nil || tok.Token == "" || tok.ExpiresAt.IsZero() {
		return "", time.Time{}, fmt.Errorf("%s: GitHub's answer to the mint holds no token and expiry", it.app)
	}
	return tok.Token, tok.ExpiresAt, nil
}

// appRefusedError is GitHub refusing to mint: wrong credentials or installation,
// which no retry cures.
type appRefusedError struct{ text string }

func (e *appRefusedError) Error() string { return e.text }
func (e *appRefusedError) permanent()    {}

// mintError turns a failed mint into words naming the App and what to check.
func (it *installationTokens) mintError(status int, body []byte) error {
	var answer struct {
		Message string `json:"message"`
	}
	_ = json.Unmarshal(body, &answer)
	said := strconv.Itoa(status)
	if answer.Message != "" {
		said += " " + strconv.Quote(answer.Message)
	}
	var hint string
	switch {
	case status == http.StatusTooManyRequests || strings.Contains(strings.ToLower(answer.Message), "rate limit"):
		return fmt.Errorf("%s: minting an installation token: GitHub answered %s", it.app, said)
	case status == http.StatusUnauthorized:
		hint = "GitHub refused the App's JWT: check app.id and that the private key is this App's, and the host clock"
	case status == http.StatusNotFound:
		hint = "no such installation of this App: check app.installation_id and that the App is still installed"
	case status == http.StatusForbidden:
		hint = "the installation may be suspended"
	case status == http.StatusUnprocessableEntity:
		hint = "GitHub would not mint a token for this installation"
	default:
		return fmt.Errorf("%s: minting an installation token: GitHub answered %s", it.app, said)
	}
	return &appRefusedError{text: fmt.Sprintf("%s: %s (GitHub answered %s)", it.app, hint, said)}
}
