package githubtest

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Documented limits of GitHub App authentication.
const (
	// installationTokenLifetime is how long an installation access token lasts.
	installationTokenLifetime = time.Hour
	// jwtMaxAhead is how far ahead of GitHub's clock an App JWT's exp may lie.
	jwtMaxAhead = 10 * time.Minute
)

// GitHub's answers to an App JWT it refuses, word for word.
const (
	jwtUndecodable = "A JSON web token could not be decoded"
	jwtExpired     = "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires"
	jwtTooLong     = "'Expiration time' claim ('exp') is too far in the future"
	jwtIssuedLater = "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued"
)

const docInstallationToken = "https://docs.github.com/rest/apps/apps#create-an-installation-access-token-for-an-app"

// appState is the GitHub App the server knows, installed once.
type appState struct {
	id             int64
	installationID int64
	key            *rsa.PublicKey
	installation   bucket               // the installation's primary limit, spent by its tokens
	jwt            bucket               // the App's own limit, spent by mints
	tokens         map[string]time.Time // installation token -> expiry
	minted         int
}

// appOf returns the server's App, creating it on first use.
func (s *Server) appOf() *appState {
	if s.app == nil {
		s.app = &appState{
			installation: bucket{limit: 5000, window: time.Hour},
			jwt:          bucket{limit: 5000, window: time.Hour},
			tokens:       map[string]time.Time{},
		}
	}
	return s.app
}

// WithApp makes the server know a GitHub App with the id appID, installed once as
// installationID, whose private key matches publicKey: a JWT the App signs mints
// installation tokens, which every other endpoint accepts until they expire.
func WithApp(appID, installationID int64, publicKey *rsa.PublicKey) Option {
	return func(s *Server) {
		app := s.appOf()
		app.id, app.installationID, app.key = appID, installationID, publicKey
	}
}

// WithInstallationRateLimit sets the installation's primary rate limit, per hour
// (default 5,000). GitHub gives an installation at least 5,000, more for larger
// organisations, and 15,000 on Enterprise Cloud.
func WithInstallationRateLimit(limit int) Option {
	return func(s *Server) { s.appOf().installation.limit = limit }
}

// InstallationRateLimit reports the installation's primary limit as its next
// request would see it.
func (s *Server) InstallationRateLimit() (limit, remaining int, reset time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b := &s.appOf().installation
	b.roll(s.now())
	return b.limit, b.remaining, b.reset
}

// MintedTokens returns how many installation tokens the server has minted.
func (s *Server) MintedTokens() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.appOf().minted
}

// RevokeInstallationTokens makes every installation token minted so far answer 401
// "Bad credentials", as after DELETE /installation/token.
func (s *Server) RevokeInstallationTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.appOf().tokens)
}

// installationToken says whether token is an installation token not yet expired.
func (s *Server) installationToken(token string, now time.Time) bool {
	if s.app == nil {
		return false
	}
	expires, ok := s.app.tokens[token]
	return ok && now.Before(expires)
}

// primaryBucket is the primary limit a request spends: its installation's for an
// installation token, else the token's user's.
func (s *Server) primaryBucket(r *http.Request) *bucket {
	if s.app != nil {
		if _, ok := s.app.tokens[bearer(r)]; ok {
			return &s.app.installation
		}
	}
	return &s.core
}

// rateLimitedMessage is GitHub's answer when b, a primary limit, is spent.
func (s *Server) rateLimitedMessage(b *bucket) string {
	if s.app != nil && b == &s.app.installation {
		return fmt.Sprintf("API rate limit exceeded for installation ID %d.", s.app.installationID)
	}
	return "API rate limit exceeded for user ID 1."
}

// bearer is the credential of an "Authorization: Bearer" or "token" header.
func bearer(r *http.Request) string {
	scheme, cred, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok {
		return ""
	}
	if scheme = strings.ToLower(scheme); scheme != "bearer" && scheme != "token" {
		return ""
	}
	return strings.TrimSpace(cred)
}

// installationTokenJSON is the documented answer of "Create an installation access
// token for an app".
type installationTokenJSON struct {
	Token               string            `json:"token"`
	ExpiresAt           string            `json:"expires_at"`
	Permissions         map[string]string `json:"permissions"`
	RepositorySelection string            `json:"repository_selection"`
}

// mintInstallationToken answers POST /app/installations/{id}/access_tokens: the App
// authenticates with a JWT and spends its own limit, not an installation's.
func (s *Server) mintInstallationToken(r *http.Request, rt route, now time.Time) *response {
	app := s.appOf()
	if r.Method != http.MethodPost {
		return notFound()
	}
	app.jwt.roll(now)
	if app.jwt.remaining <= 0 {
		resp := errorResponse(s.status, fmt.Sprintf("API rate limit exceeded for app ID %d.", app.id), docRateLimit)
		setRateHeaders(resp.header, &app.jwt)
		return resp
	}
	app.jwt.remaining--
	var resp *response
	if refusal := app.verifyJWT(bearer(r), now); refusal != "" {
		resp = errorResponse(http.StatusUnauthorized, refusal, docREST)
	} else if id, err := strconv.ParseInt(rt.ref, 10, 64); err != nil || id != app.installationID {
		resp = errorResponse(http.StatusNotFound, "Not Found", docInstallationToken)
	} else {
		app.minted++
		sum := sha256.Sum256(fmt.Appendf(nil, "%d/%d", app.installationID, app.minted))
		token := "ghs_" + base64.RawURLEncoding.EncodeToString(sum[:])[:36]
		expires := now.Add(installationTokenLifetime).Truncate(time.Second)
		app.tokens[token] = expires
		body, _ := json.Marshal(installationTokenJSON{
			Token: token, ExpiresAt: expires.UTC().Format(time.RFC3339),
			// The read-only permissions flowmeter's documentation asks for.
			Permissions: map[string]string{
				"metadata": "read", "pull_requests": "read", "issues": "read",
				"contents": "read", "deployments": "read", "actions": "read",
			},
			RepositorySelection: "all",
		})
		resp = &response{status: http.StatusCreated, header: http.Header{}, body: body}
	}
	s.commonHeaders(resp.header)
	setRateHeaders(resp.header, &app.jwt)
	return resp
}

// verifyJWT checks an App JWT as GitHub documents it: RS256, signed by the App's
// key, issued by the App's id, iat not in the future and exp in the future but no
// more than 10 minutes ahead. It returns GitHub's refusal, or "".
func (app *appState) verifyJWT(token string, now time.Time) string {
	parts := strings.Split(token, ".")
	if len(parts) != 3 || app.key == nil {
		return jwtUndecodable
	}
	var header struct {
		Alg string `json:"alg"`
	}
	var claims struct {
		Iss json.RawMessage `json:"iss"`
		Iat json.Number     `json:"iat"`
		Exp json.Number     `json:"exp"`
	}
	signature, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil || decodeSegment(parts[0], &header) != nil || decodeSegment(parts[1], &claims) != nil || header.Alg != "RS256" {
		return jwtUndecodable
	}
	// GitHub finds the key to check the signature by the issuer: a JWT of another
	// App, or signed by another key, cannot be decoded.
	if !issuedBy(claims.Iss, app.id) {
		return jwtUndecodable
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if rsa.VerifyPKCS1v15(app.key, crypto.SHA256, digest[:], signature) != nil {
		return jwtUndecodable
	}
	exp, err := claims.Exp.Float64()
	if err != nil || exp <= float64(now.Unix()) {
		return jwtExpired
	}
	if exp > float64(now.Add(jwtMaxAhead).Unix()) {
		return jwtTooLong
	}
	iat, err := claims.Iat.Float64()
	if err != nil || iat != math.Trunc(iat) || iat > float64(now.Unix()) {
		return jwtIssuedLater
	}
	return ""
}

// issuedBy says whether a JWT's iss names the App id: a number, or its decimal text.
func issuedBy(iss json.RawMessage, id int64) bool {
	var text string
	if json.Unmarshal(iss, &text) != nil {
		text = string(iss)
	}
	return text == strconv.FormatInt(id, 10)
}

func decodeSegment(segment string, v any) error {
	raw, err := base64.RawURLEncoding.DecodeString(segment)
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, v)
}
