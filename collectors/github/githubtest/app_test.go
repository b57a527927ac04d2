package githubtest_test

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flowmeter/flowmeter/collectors/github/githubtest"
)

// appKeys are two RSA keys, made once: the App's and a stranger's.
var appKeys = sync.OnceValue(func() [2]*rsa.PrivateKey {
	var keys [2]*rsa.PrivateKey
	for i := range keys {
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		keys[i] = key
	}
	return keys
})

// signJWT builds an RS256 JWT by hand from its claims, so the fake is checked
// against the format, not against the library flowmeter signs with.
func signJWT(t *testing.T, key *rsa.PrivateKey, alg string, claims map[string]any) string {
	t.Helper()
	header, _ := json.Marshal(map[string]string{"alg": alg, "typ": "JWT"})
	payload, _ := json.Marshal(claims)
	signingInput := base64.RawURLEncoding.EncodeToString(header) + "." + base64.RawURLEncoding.EncodeToString(payload)
	digest := sha256.Sum256([]byte(signingInput))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	return signingInput + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// send makes a request to the fake with an Authorization header and returns the
// status, the headers and the body.
func send(t *testing.T, srv *githubtest.Server, method, path, auth string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, srv.URL()+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, body
}

func TestAppMintsInstallationTokens(t *testing.T) {
	keys := appKeys()
	clock := githubtest.NewClock(at(0))
	srv := githubtest.New(t, githubtest.WithClock(clock.Now), githubtest.WithApp(42, 7001, &keys[0].PublicKey),
		githubtest.WithInstallationRateLimit(15000))
	srv.AddRepo("acme", "api", "main")
	now := at(0).Unix()
	good := signJWT(t, keys[0], "RS256", map[string]any{"iat": now - 60, "exp": now + 540, "iss": "42"})

	status, header, body := send(t, srv, http.MethodPost, "app/installations/7001/access_tokens", "Bearer "+good)
	if status != http.StatusCreated {
		t.Fatalf("mint: %d %s", status, body)
	}
	var minted struct {
		Token               string            `json:"token"`
		ExpiresAt           string            `json:"expires_at"`
		Permissions         map[string]string `json:"permissions"`
		RepositorySelection string            `json:"repository_selection"`
	}
	if err := json.Unmarshal(body, &minted); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(minted.Token, "ghs_") || minted.ExpiresAt != "2026-03-01T01:00:00Z" ||
		minted.Permissions["pull_requests"] != "read" || minted.RepositorySelection != "all" {
		t.Errorf("minted %s", body)
	}
	// The mint spends the App's own limit: neither the installation's nor the user's.
	if header.Get("X-RateLimit-Limit") != "5000" || header.Get("X-RateLimit-Remaining") != "4999" {
		t.Errorf("mint rate headers: limit %s remaining %s", header.Get("X-RateLimit-Limit"), header.Get("X-RateLimit-Remaining"))
	}
	if _, remaining, _ := srv.InstallationRateLimit(); remaining != 15000 {
		t.Errorf("installation limit left after the mint %d, want 15000", remaining)
	}
	if _, remaining, _ := srv.RateLimit(); remaining != 5000 {
		t.Errorf("user limit left after the mint %d, want 5000", remaining)
	}

	// The token works on every endpoint, spending the installation's limit.
	status, header, body = send(t, srv, http.MethodGet, "repos/acme/api", "Bearer "+minted.Token)
	if status != http.StatusOK || header.Get("X-RateLimit-Limit") != "15000" || header.Get("X-RateLimit-Remaining") != "14999" {
		t.Fatalf("with the installation token: %d, limit %s remaining %s: %s", status, header.Get("X-RateLimit-Limit"), header.Get("X-RateLimit-Remaining"), body)
	}
	status, _, _ = send(t, srv, http.MethodGet, "repos/acme/api", "token "+minted.Token)
	if status != http.StatusOK {
		t.Fatalf("with the token scheme: %d", status)
	}
	if _, remaining, _ := srv.RateLimit(); remaining != 5000 {
		t.Errorf("user limit left after installation requests %d, want 5000", remaining)
	}
	// The static token still works, on the user's limit.
	status, header, _ = send(t, srv, http.MethodGet, "repos/acme/api", "Bearer test-token")
	if status != http.StatusOK || header.Get("X-RateLimit-Limit") != "5000" {
		t.Fatalf("with the user token: %d, limit %s", status, header.Get("X-RateLimit-Limit"))
	}

	// A second of life left, then none.
	clock.Advance(time.Hour - time.Second)
	if status, _, _ = send(t, srv, http.MethodGet, "repos/acme/api", "Bearer "+minted.Token); status != http.StatusOK {
		t.Fatalf("a second before expiry: %d", status)
	}
	clock.Advance(time.Second)
	status, _, body = send(t, srv, http.MethodGet, "repos/acme/api", "Bearer "+minted.Token)
	if status != http.StatusUnauthorized || !strings.Contains(string(body), `"Bad credentials"`) {
		t.Fatalf("at expiry: %d %s", status, body)
	}
	if srv.MintedTokens() != 1 || srv.Count("app.access_tokens") != 1 {
		t.Errorf("minted %d, mint requests %d; want 1 and 1", srv.MintedTokens(), srv.Count("app.access_tokens"))
	}
}

func TestAppRefusesBadJWTs(t *testing.T) {
	keys := appKeys()
	srv := githubtest.New(t, githubtest.WithClock(githubtest.NewClock(at(0)).Now), githubtest.WithApp(42, 7001, &keys[0].PublicKey))
	now := at(0).Unix()
	claims := func(iat, exp int64, iss any) map[string]any {
		return map[string]any{"iat": iat, "exp": exp, "iss": iss}
	}
	const (
		undecodable = "A JSON web token could not be decoded"
		expired     = "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires"
		tooLong     = "'Expiration time' claim ('exp') is too far in the future"
		issuedLater = "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued"
	)
	tests := []struct {
		name   string
		auth   string
		path   string
		status int
		want   string
	}{
		{"numeric iss", "Bearer " + signJWT(t, keys[0], "RS256", claims(now-60, now+540, 42)), "7001", 201, ""},
		{"exp exactly 10 minutes ahead", "Bearer " + signJWT(t, keys[0], "RS256", claims(now, now+600, "42")), "7001", 201, ""},
		{"no credentials", "", "7001", 401, undecodable},
		{"the user's token", "Bearer test-token", "7001", 401, undecodable},
		{"another key", "Bearer " + signJWT(t, keys[1], "RS256", claims(now-60, now+540, "42")), "7001", 401, undecodable},
		{"another app", "Bearer " + signJWT(t, keys[0], "RS256", claims(now-60, now+540, "43")), "7001", 401, undecodable},
		{"not RS256", "Bearer " + signJWT(t, keys[0], "HS256", claims(now-60, now+540, "42")), "7001", 401, undecodable},
		{"expired", "Bearer " + signJWT(t, keys[0], "RS256", claims(now-700, now-100, "42")), "7001", 401, expired},
		{"exp too far ahead", "Bearer " + signJWT(t, keys[0], "RS256", claims(now-60, now+601, "42")), "7001", 401, tooLong},
		{"issued in the future", "Bearer " + signJWT(t, keys[0], "RS256", claims(now+30, now+540, "42")), "7001", 401, issuedLater},
		{"unknown installation", "Bearer " + signJWT(t, keys[0], "RS256", claims(now-60, now+540, "42")), "7002", 404, "Not Found"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, _, body := send(t, srv, http.MethodPost, "app/installations/"+tc.path+"/access_tokens", tc.auth)
			if status != tc.status {
				t.Fatalf("status %d, want %d: %s", status, tc.status, body)
			}
			if tc.want != "" {
				var answer struct {
					Message string `json:"message"`
				}
				if err := json.Unmarshal(body, &answer); err != nil || answer.Message != tc.want {
					t.Errorf("message %q, want %q", answer.Message, tc.want)
				}
			}
		})
	}
	if got := srv.MintedTokens(); got != 2 {
		t.Errorf("minted %d tokens, want 2", got)
	}
	good := "Bearer " + signJWT(t, keys[0], "RS256", claims(now-60, now+540, "42"))
	if status, _, _ := send(t, srv, http.MethodGet, "app/installations/7001/access_tokens", good); status != http.StatusNotFound {
		t.Errorf("GET on the mint endpoint: %d, want 404", status)
	}
}

func TestRevokedInstallationTokensAreRefused(t *testing.T) {
	keys := appKeys()
	srv := githubtest.New(t, githubtest.WithApp(42, 7001, &keys[0].PublicKey))
	srv.AddRepo("acme", "api", "main")
	mint := func() string {
		now := time.Now().Unix()
		_, _, body := send(t, srv, http.MethodPost, "app/installations/7001/access_tokens",
			"Bearer "+signJWT(t, keys[0], "RS256", map[string]any{"iat": now - 60, "exp": now + 540, "iss": 42}))
		var minted struct{ Token string }
		if err := json.Unmarshal(body, &minted); err != nil || minted.Token == "" {
			t.Fatalf("mint: %s", body)
		}
		return minted.Token
	}
	first, second := mint(), mint()
	if first == second {
		t.Fatalf("two mints gave the same token %s", first)
	}
	srv.RevokeInstallationTokens()
	for i, token := range []string{first, second} {
		if status, _, _ := send(t, srv, http.MethodGet, "repos/acme/api", "Bearer "+token); status != http.StatusUnauthorized {
			t.Errorf("revoked token %d: %d, want 401", i, status)
		}
	}
	if status, _, body := send(t, srv, http.MethodGet, "repos/acme/api", "Bearer "+mint()); status != http.StatusOK {
		t.Errorf("a token minted after the revocation: %d %s", status, body)
	}
}

func TestInstallationRateLimitIsItsOwn(t *testing.T) {
	keys := appKeys()
	srv := githubtest.New(t, githubtest.WithApp(42, 7001, &keys[0].PublicKey), githubtest.WithInstallationRateLimit(3))
	srv.AddRepo("acme", "api", "main")
	now := time.Now().Unix()
	_, _, body := send(t, srv, http.MethodPost, "app/installations/7001/access_tokens",
		"Bearer "+signJWT(t, keys[0], "RS256", map[string]any{"iat": now - 60, "exp": now + 540, "iss": 42}))
	var minted struct{ Token string }
	if err := json.Unmarshal(body, &minted); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if status, _, _ := send(t, srv, http.MethodGet, "repos/acme/api", "Bearer "+minted.Token); status != http.StatusOK {
			t.Fatalf("request %d: %d", i, status)
		}
	}
	status, header, body := send(t, srv, http.MethodGet, "repos/acme/api", "Bearer "+minted.Token)
	if status != http.StatusForbidden || header.Get("X-RateLimit-Remaining") != "0" ||
		!strings.Contains(string(body), fmt.Sprintf("API rate limit exceeded for installation ID %d.", 7001)) {
		t.Fatalf("past the installation's limit: %d %s", status, body)
	}
	if status, _, _ := send(t, srv, http.MethodGet, "repos/acme/api", "Bearer test-token"); status != http.StatusOK {
		t.Errorf("the user's token after the installation's limit ran out: %d", status)
	}
}
