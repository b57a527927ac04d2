package github

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flowmeter/flowmeter/collectors/collectortest"
	"github.com/flowmeter/flowmeter/collectors/github/githubtest"
	"github.com/flowmeter/flowmeter/schema"
	"github.com/flowmeter/flowmeter/store"
)

// The App of these tests, as the fake GitHub knows it.
const (
	testAppID          = 42
	testInstallationID = 7001
)

// testKeys are two RSA keys, made once: the App's and a stranger's.
var testKeys = sync.OnceValue(func() [2]*rsa.PrivateKey {
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

// newAppFixture is a fake GitHub that knows the test App, its installation on a
// limit of 15,000 requests an hour.
func newAppFixture(t testing.TB) *fixture {
	return newFixture(t, githubtest.WithApp(testAppID, testInstallationID, &testKeys()[0].PublicKey),
		githubtest.WithInstallationRateLimit(15000))
}

// connectApp builds the source authenticating as app, its token source reading the
// fake clock.
func (f *fixture) connectApp(t testing.TB, app *appAuth, edit func(*resolved)) *installationTokens {
	s := f.connect(t, func(r *resolved) {
		r.token, r.app = "", app
		if edit != nil {
			edit(r)
		}
	})
	tokens := s.transport.next.(*authTransport).tokens.(*installationTokens)
	tokens.now = f.clock.Now
	return tokens
}

func testApp() *appAuth {
	return &appAuth{id: testAppID, installationID: testInstallationID, key: testKeys()[0]}
}

// refusals counts the requests the fake answered 401.
func refusals(srv *githubtest.Server) int {
	n := 0
	for _, r := range srv.Requests() {
		if r.Status == http.StatusUnauthorized {
			n++
		}
	}
	return n
}

func TestAppJWTClaims(t *testing.T) {
	now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	signed, err := testApp().jwt(now)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(signed, ".")
	if len(parts) != 3 {
		t.Fatalf("JWT %q has %d parts", signed, len(parts))
	}
	segment := func(i int, v any) {
		raw, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(raw, v); err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
	}
	var header map[string]any
	var claims map[string]any
	segment(0, &header)
	segment(1, &claims)
	// 2026-06-01T12:00:00Z is 1780315200; iat a minute before, exp nine minutes after.
	want := map[string]any{"iss": "42", "iat": float64(1780315140), "exp": float64(1780315740)}
	if header["alg"] != "RS256" || len(claims) != len(want) {
		t.Fatalf("header %v claims %v", header, claims)
	}
	for k, v := range want {
		if claims[k] != v {
			t.Errorf("claim %s = %v, want %v", k, claims[k], v)
		}
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	if err != nil {
		t.Fatal(err)
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(&testKeys()[0].PublicKey, crypto.SHA256, digest[:], sig); err != nil {
		t.Errorf("signature does not verify with the App's public key: %v", err)
	}
}

func TestAppCollectsOnItsInstallation(t *testing.T) {
	f := newAppFixture(t)
	scenario(t, f.srv)
	f.connectApp(t, testApp(), func(r *resolved) {
		r.workflows = []WorkflowSettings{{Workflow: "deploy.yml", Environment: "production"}}
		r.releases = true
	})
	var unsigned []string
	f.srv.OnRequest(func(r *http.Request) {
		if !strings.Contains(r.URL.Path, "/access_tokens") && !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ghs_") {
			unsigned = append(unsigned, r.URL.Path)
		}
	})
	st := collectortest.SQLite(t)
	if err := f.collect(context.Background(), st); err != nil {
		t.Fatal(err)
	}
	if len(unsigned) > 0 {
		t.Errorf("requests without the installation token: %v", unsigned)
	}
	if prs := pullsByID(t, st); len(prs) != 7 {
		t.Errorf("collected %d pull requests, want 7", len(prs))
	}
	if n, _ := st.Count(context.Background(), schema.KindDeployment, store.Filter{}); n == 0 {
		t.Error("no deployments collected")
	}
	if f.srv.MintedTokens() != 1 || f.srv.Count("app.access_tokens") != 1 {
		t.Errorf("%d tokens minted in %d requests, want 1 in 1", f.srv.MintedTokens(), f.srv.Count("app.access_tokens"))
	}
	// The installation's limit is the one reported, and the mint is neither counted
	// as one of the source's requests nor read as the installation's limit.
	requests, remaining := f.source.transport.stats()
	limit, left, _ := f.srv.InstallationRateLimit()
	if limit != 15000 || remaining != left || remaining != 15000-requests {
		t.Errorf("rate limit left %d after %d requests; the installation has %d of %d left", remaining, requests, left, limit)
	}
	if total := f.srv.Total(); requests != total-1 {
		t.Errorf("the source counted %d requests; the fake saw %d, one of them the mint", requests, total)
	}
}

func TestAppTokenRefreshedBeforeExpiry(t *testing.T) {
	f := newAppFixture(t)
	costOrg(t, f, 1, 3)
	f.connectApp(t, testApp(), nil)
	st := collectortest.SQLite(t)
	collect := func() {
		t.Helper()
		if err := f.collect(context.Background(), st); err != nil {
			t.Fatal(err)
		}
	}
	collect()
	// 54 minutes on, the token has 6 minutes left: more than the margin, kept.
	f.clock.Advance(54 * time.Minute)
	collect()
	if got := f.srv.MintedTokens(); got != 1 {
		t.Fatalf("%d tokens minted with 6 minutes left on the first, want 1", got)
	}
	// 56 minutes on, 4 minutes left: replaced before use.
	f.clock.Advance(2 * time.Minute)
	collect()
	if got := f.srv.MintedTokens(); got != 2 {
		t.Fatalf("%d tokens minted with 4 minutes left on the first, want 2", got)
	}
	if n := refusals(f.srv); n != 0 {
		t.Errorf("the fake refused %d requests", n)
	}
	// The new token lasts its hour: 50 minutes on, still no new mint.
	f.clock.Advance(50 * time.Minute)
	collect()
	if got := f.srv.MintedTokens(); got != 2 {
		t.Errorf("%d tokens minted 50 minutes after the second, want 2", got)
	}
}

func TestAppTokenRefusedIsMintedOnce(t *testing.T) {
	t.Run("expired by GitHub's clock", func(t *testing.T) {
		f := newAppFixture(t)
		costOrg(t, f, 1, 3)
		tokens := f.connectApp(t, testApp(), nil)
		// The host's clock runs 7 minutes behind GitHub's (the fake's): more than the
		// refresh margin, less than would make GitHub refuse the JWT.
		tokens.now = func() time.Time { return f.clock.Now().Add(-7 * time.Minute) }
		st := collectortest.SQLite(t)
		if err := f.collect(context.Background(), st); err != nil {
			t.Fatal(err)
		}
		// GitHub's clock is past the token's hour; the host's says 6 minutes are left.
		f.clock.Advance(61 * time.Minute)
		f.srv.ResetCounts()
		if err := f.collect(context.Background(), st); err != nil {
			t.Fatal(err)
		}
		if got, n := f.srv.MintedTokens(), refusals(f.srv); got != 2 || n != 1 {
			t.Errorf("%d tokens minted after %d refusals, want 2 after 1", got, n)
		}
	})
	t.Run("revoked", func(t *testing.T) {
		f := newAppFixture(t)
		costOrg(t, f, 1, 3)
		f.connectApp(t, testApp(), nil)
		st := collectortest.SQLite(t)
		if err := f.collect(context.Background(), st); err != nil {
			t.Fatal(err)
		}
		f.srv.RevokeInstallationTokens()
		if err := f.collect(context.Background(), st); err != nil {
			t.Fatal(err)
		}
		if got, n := f.srv.MintedTokens(), refusals(f.srv); got != 2 || n != 1 {
			t.Errorf("%d tokens minted after %d refusals, want 2 after 1", got, n)
		}
	})
	t.Run("refused again, the error stands", func(t *testing.T) {
		f := newAppFixture(t)
		costOrg(t, f, 1, 3)
		f.connectApp(t, testApp(), nil)
		f.srv.FailPath("/orgs/", 2, http.StatusUnauthorized)
		err := f.collect(context.Background(), collectortest.SQLite(t))
		if err == nil || !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), "GitHub App") || strings.Contains(err.Error(), "token_env") {
			t.Fatalf("err = %v, want a 401 naming the App, not token_env", err)
		}
		if got, asked := f.srv.MintedTokens(), f.srv.Count("repos"); got != 2 || asked != 2 {
			t.Errorf("%d tokens minted, the repositories asked %d times; want 2 and 2", got, asked)
		}
	})
}

func TestAppRefusedCredentialsFailAtOnce(t *testing.T) {
	other := testApp()
	other.key = testKeys()[1]
	unknownApp := testApp()
	unknownApp.id = 43
	uninstalled := testApp()
	uninstalled.installationID = 7002
	tests := []struct {
		name string
		app  *appAuth
		want []string
	}{
		{"another key", other, []string{"GitHub App 42, installation 7001", "check app.id and that the private key is this App's", `401 "A JSON web token could not be decoded"`}},
		{"another app id", unknownApp, []string{"GitHub App 43, installation 7001", "check app.id", "401"}},
		{"another installation", uninstalled, []string{"GitHub App 42, installation 7002", "check app.installation_id", "404"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newAppFixture(t)
			costOrg(t, f, 3, 1)
			// Three repositories named one by one: the first refusal stops the source.
			f.connectApp(t, tc.app, func(r *resolved) {
				r.orgs, r.repos = nil, []string{"acme/repo-00", "acme/repo-01", "acme/repo-02"}
			})
			err := f.collect(context.Background(), collectortest.SQLite(t))
			if err == nil {
				t.Fatal("collected with refused credentials")
			}
			for _, want := range tc.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("err = %v\nwant it to say %q", err, want)
				}
			}
			// One error, naming the App once, not one failure per repository.
			if n := strings.Count(err.Error(), tc.want[0]); n != 1 || strings.Contains(err.Error(), "repositories failed") {
				t.Errorf("err = %v\nwant the App's refusal once, the source stopped", err)
			}
			if n := f.srv.Count("app.access_tokens"); n != 1 || len(f.slept) != 0 || f.srv.Total() != 1 {
				t.Errorf("asked to mint %d times, slept %v, sent %d requests; want 1 mint, no sleep, nothing else", n, f.slept, f.srv.Total())
			}
		})
	}
	t.Run("asked again after a minute", func(t *testing.T) {
		f := newAppFixture(t)
		costOrg(t, f, 1, 1)
		f.connectApp(t, uninstalled, nil)
		for range 2 {
			if err := f.collect(context.Background(), collectortest.SQLite(t)); err == nil {
				t.Fatal("collected with refused credentials")
			}
		}
		f.clock.Advance(time.Minute)
		if err := f.collect(context.Background(), collectortest.SQLite(t)); err == nil {
			t.Fatal("collected with refused credentials")
		}
		if n := f.srv.Count("app.access_tokens"); n != 2 {
			t.Errorf("asked to mint %d times in three collections a minute apart, want 2", n)
		}
	})
}

// GitHub refusing to mint a new token mid-collection (the App's key revoked while it
// ran) stops the source at once: the repositories left are not each failed in turn.
func TestAppRefusedMidCollectionStops(t *testing.T) {
	f := newAppFixture(t)
	costOrg(t, f, 3, 2)
	f.connectApp(t, testApp(), nil)
	fired := false
	f.srv.OnRequest(func(r *http.Request) {
		if !fired && strings.HasSuffix(r.URL.Path, "/pulls") {
			// The token nears its expiry while the first repository is collected, and
			// the next mint is refused.
			fired = true
			f.clock.Advance(56 * time.Minute)
			f.srv.FailPath("/access_tokens", 3, http.StatusUnauthorized)
		}
	})
	err := f.collect(context.Background(), collectortest.SQLite(t))
	if err == nil || strings.Count(err.Error(), "GitHub App 42, installation 7001") != 1 || strings.Contains(err.Error(), "repositories failed") {
		t.Fatalf("err = %v, want the App's refusal once, the source stopped", err)
	}
	var kinds []string
	for _, r := range f.srv.Requests() {
		kinds = append(kinds, r.Kind)
	}
	if want := []string{"app.access_tokens", "repos", "pulls.list", "app.access_tokens"}; !slices.Equal(kinds, want) {
		t.Errorf("requests %v, want %v: nothing after the refused mint", kinds, want)
	}
}

func TestAppMintFailuresAreRetried(t *testing.T) {
	f := newAppFixture(t)
	costOrg(t, f, 1, 2)
	f.connectApp(t, testApp(), nil)
	f.srv.FailPath("/access_tokens", 2, http.StatusBadGateway)
	if err := f.collect(context.Background(), collectortest.SQLite(t)); err != nil {
		t.Fatal(err)
	}
	if n, got := f.srv.Count("app.access_tokens"), f.srv.MintedTokens(); n != 3 || got != 1 || len(f.slept) != 2 {
		t.Errorf("%d mint requests, %d tokens, sleeps %v; want 3 requests, 1 token after two backoffs", n, got, f.slept)
	}
}

func TestAppTokensConcurrently(t *testing.T) {
	f := newAppFixture(t)
	tokens := f.connectApp(t, testApp(), nil)
	var wg sync.WaitGroup
	got := make([]string, 8)
	for i := range got {
		wg.Go(func() {
			token, err := tokens.Token(context.Background())
			if err != nil {
				t.Error(err)
			}
			got[i] = token
		})
	}
	wg.Wait()
	for _, token := range got {
		if token != got[0] || !strings.HasPrefix(token, "ghs_") {
			t.Fatalf("tokens %v, want one installation token", got)
		}
	}
	if n := f.srv.MintedTokens(); n != 1 {
		t.Errorf("%d tokens minted for 8 concurrent requests, want 1", n)
	}
}

// pemFile writes a PEM block to a file in dir and returns the file's path and the
// PEM text.
func pemFile(t *testing.T, dir, name, typ string, der []byte) (string, string) {
	t.Helper()
	text := string(pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}))
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p, text
}

func TestAppSettings(t *testing.T) {
	dir := t.TempDir()
	key := testKeys()[0]
	pkcs1, pkcs1Text := pemFile(t, dir, "app.pem", "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(key))
	der8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	_, pkcs8Text := pemFile(t, dir, "pkcs8.pem", "PRIVATE KEY", der8)
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	derEC, err := x509.MarshalPKCS8PrivateKey(ec)
	if err != nil {
		t.Fatal(err)
	}
	ecFile, ecText := pemFile(t, dir, "ec.pem", "PRIVATE KEY", derEC)
	public, publicText := pemFile(t, dir, "public.pem", "PUBLIC KEY", x509.MarshalPKCS1PublicKey(&key.PublicKey))
	garbled := filepath.Join(dir, "garbled.pem")
	garbledText := strings.Replace(pkcs1Text, "MII", "XXX", 1)
	if err := os.WriteFile(garbled, []byte(garbledText), 0o600); err != nil {
		t.Fatal(err)
	}
	notPEM := filepath.Join(dir, "token.txt")
	if err := os.WriteFile(notPEM, []byte("ghp_s3cretTokenText"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("GH_TEST_TOKEN", "s3cret-value")
	t.Setenv("GH_TEST_APP_KEY", pkcs8Text)
	t.Setenv("GH_TEST_APP_KEY_ONE_LINE", strings.ReplaceAll(pkcs1Text, "\n", `\n`))

	app := func(lines ...string) string {
		return "      app:\n        " + strings.Join(lines, "\n        ") + "\n      organizations: [acme]\n"
	}
	for _, tc := range []struct{ name, settings string }{
		{"PKCS#1 file", app("id: 42", "installation_id: 7001", "private_key_file: "+pkcs1)},
		{"PKCS#8 variable", app("id: 42", "installation_id: 7001", "private_key_env: GH_TEST_APP_KEY")},
		{"variable with its line breaks written as \\n", app("id: 42", "installation_id: 7001", "private_key_env: GH_TEST_APP_KEY_ONE_LINE")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := build(t, tc.settings)
			if err != nil {
				t.Fatal(err)
			}
			got := s.set.app
			if got == nil || got.id != 42 || got.installationID != 7001 || !got.key.Equal(key) || s.set.token != "" {
				t.Fatalf("resolved app %+v, token %q", got, s.set.token)
			}
			if _, ok := s.transport.next.(*authTransport).tokens.(*installationTokens); !ok {
				t.Errorf("the source signs with %T, want installation tokens", s.transport.next.(*authTransport).tokens)
			}
		})
	}
	secrets := []string{"s3cret-value", "ghp_s3cretTokenText", pemBody(pkcs1Text), pemBody(pkcs8Text), pemBody(ecText), pemBody(publicText), pemBody(garbledText)}
	for _, tc := range []struct{ name, settings, want string }{
		{"token and app", "      token_env: GH_TEST_TOKEN\n" + app("id: 42", "installation_id: 7001", "private_key_file: "+pkcs1),
			"f.yaml:5: sources[0].github.app: give either a token (token_env or token_file) or app, not both"},
		{"neither", "      organizations: [acme]\n",
			"f.yaml:4: sources[0].github.token_env: no credentials: give a token (token_env or token_file) or a GitHub App (app)"},
		{"no id", app("installation_id: 7001", "private_key_file: "+pkcs1),
			"f.yaml:4: sources[0].github.app.id: give the App's id"},
		{"no installation", app("id: 42", "private_key_file: "+pkcs1),
			"f.yaml:4: sources[0].github.app.installation_id: give the id of the App's installation"},
		{"no key", app("id: 42", "installation_id: 7001"),
			"f.yaml:4: sources[0].github.app.private_key_file: no secret given"},
		{"key file missing", app("id: 42", "installation_id: 7001", "private_key_file: "+filepath.Join(dir, "nope.pem")),
			"f.yaml:7: sources[0].github.app.private_key_file: cannot read secret file " + filepath.Join(dir, "nope.pem")},
		{"key variable unset", app("id: 42", "installation_id: 7001", "private_key_env: GH_TEST_UNSET"),
			"f.yaml:7: sources[0].github.app.private_key_env: environment variable GH_TEST_UNSET is not set"},
		{"not PEM", app("id: 42", "installation_id: 7001", "private_key_file: "+notPEM),
			"f.yaml:7: sources[0].github.app.private_key_file: not a PEM private key"},
		{"garbled key", app("id: 42", "installation_id: 7001", "private_key_file: "+garbled),
			"f.yaml:7: sources[0].github.app.private_key_file: the PEM block (RSA PRIVATE KEY) is not an RSA private key in PKCS#1 or PKCS#8 form"},
		{"public key", app("id: 42", "installation_id: 7001", "private_key_file: "+public),
			"f.yaml:7: sources[0].github.app.private_key_file: the PEM holds a public key: give the App's private key"},
		{"ECDSA key", app("id: 42", "installation_id: 7001", "private_key_file: "+ecFile),
			"f.yaml:7: sources[0].github.app.private_key_file: the private key is an ECDSA key"},
		{"unknown app field", app("id: 42", "installation: 7001"),
			"f.yaml:6: sources[0].github.app.installation: unknown field"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := build(t, tc.settings)
			if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
				t.Fatalf("err = %v\nwant it to start with %q", err, tc.want)
			}
			for _, secret := range secrets {
				if strings.Contains(err.Error(), secret) {
					t.Fatalf("a secret reached the error message: %v", err)
				}
			}
		})
	}
}

// pemBody is the first line of base64 in a PEM text: enough to recognise a key that
// reached a message.
func pemBody(text string) string {
	return strings.Split(text, "\n")[1]
}

// TestAppDaemonDay runs a day of collections 15 minutes apart on one source, as the
// daemon does: a token lasts an hour and is replaced at the first collection within
// 5 minutes of its expiry, which on a 15-minute interval is the one on the hour, so
// the day costs 25 mints (hours 0 to 24) and GitHub never refuses a token.
func TestAppDaemonDay(t *testing.T) {
	f := newAppFixture(t)
	costOrg(t, f, 2, 5)
	f.connectApp(t, testApp(), nil)
	st := collectortest.SQLite(t)
	for i := 0; i <= 24*4; i++ {
		if err := f.collect(context.Background(), st); err != nil {
			t.Fatalf("collection %d: %v", i, err)
		}
		f.clock.Advance(15 * time.Minute)
	}
	if got, n := f.srv.MintedTokens(), refusals(f.srv); got != 25 || n != 0 {
		t.Errorf("%d tokens minted and %d requests refused in a day, want 25 and 0", got, n)
	}
	t.Logf("%d requests in 97 collections, %d of them mints", f.srv.Total(), f.srv.Count("app.access_tokens"))
}

// BenchmarkInstallationTokenCached is what every request pays to read the current
// installation token.
func BenchmarkInstallationTokenCached(b *testing.B) {
	f := newAppFixture(b)
	tokens := f.connectApp(b, testApp(), nil)
	ctx := context.Background()
	if _, err := tokens.Token(ctx); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := tokens.Token(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkInstallationTokenMint is one mint against the fake: signing the JWT,
// the request, and the fake's verification.
func BenchmarkInstallationTokenMint(b *testing.B) {
	f := newAppFixture(b)
	tokens := f.connectApp(b, testApp(), nil)
	ctx := context.Background()
	for b.Loop() {
		if _, _, err := tokens.mint(ctx, f.clock.Now()); err != nil {
			b.Fatal(err)
		}
	}
}

// rotatingTokens hands out "t1", "t2", ...: a new one after each refusal.
type rotatingTokens struct{ n int }

func (r *rotatingTokens) Token(context.Context) (string, error) {
	return "t" + strconv.Itoa(r.n+1), nil
}

func (r *rotatingTokens) refused(string) { r.n++ }

// recorder answers with statuses in turn and records each request's token and body.
type recorder struct {
	statuses []int
	seen     []string
}

func (rec *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	body := ""
	if req.Body != nil {
		b, _ := io.ReadAll(req.Body)
		body = string(b)
	}
	rec.seen = append(rec.seen, req.Header.Get("Authorization")+" "+body)
	status := rec.statuses[len(rec.seen)-1]
	return &http.Response{StatusCode: status, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(""))}, nil
}

func TestAuthTransportSendsOnceMoreAfterARefusal(t *testing.T) {
	post := func() *http.Request {
		req, err := http.NewRequest(http.MethodPost, "https://ghe.example/api/graphql", strings.NewReader(`{"query":"q"}`))
		if err != nil {
			t.Fatal(err)
		}
		return req
	}
	for _, tc := range []struct {
		name     string
		statuses []int
		want     []string
		status   int
	}{
		{"refused once", []int{401, 200}, []string{`Bearer t1 {"query":"q"}`, `Bearer t2 {"query":"q"}`}, 200},
		{"refused twice", []int{401, 401}, []string{`Bearer t1 {"query":"q"}`, `Bearer t2 {"query":"q"}`}, 401},
		{"accepted", []int{200}, []string{`Bearer t1 {"query":"q"}`}, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{statuses: tc.statuses}
			tokens := &rotatingTokens{}
			resp, err := (&authTransport{next: rec, tokens: tokens}).RoundTrip(post())
			if err != nil || resp.StatusCode != tc.status {
				t.Fatalf("got %v, %v; want status %d", resp, err, tc.status)
			}
			if !slices.Equal(rec.seen, tc.want) {
				t.Errorf("sent %q, want %q", rec.seen, tc.want)
			}
		})
	}
	t.Run("a static token is not sent again", func(t *testing.T) {
		rec := &recorder{statuses: []int{401}}
		resp, err := (&authTransport{next: rec, tokens: staticToken("s")}).RoundTrip(post())
		if err != nil || resp.StatusCode != 401 || len(rec.seen) != 1 {
			t.Fatalf("got %v, %v after %d requests; want the 401 after one", resp, err, len(rec.seen))
		}
	})
}
