package webhook_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flowmeter/flowmeter/collectors"
	"github.com/flowmeter/flowmeter/collectors/webhook"
	"github.com/flowmeter/flowmeter/config"
	"github.com/flowmeter/flowmeter/schema"
	"github.com/flowmeter/flowmeter/store"
)

const (
	testToken  = "tok-3f9a1c-secret"
	testHMAC   = "hmac-7d2e4b-secret"
	testGitHub = "gh-9c1a5e-secret"
)

// memWriter is an in-memory collectors.Writer that can be made to fail.
type memWriter struct {
	mu      sync.Mutex
	fail    error
	batches []*schema.Batch
	cursors map[string]schema.Cursor
}

func (m *memWriter) Write(_ context.Context, b *schema.Batch) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	m.batches = append(m.batches, b)
	for _, c := range b.Cursors {
		if m.cursors == nil {
			m.cursors = map[string]schema.Cursor{}
		}
		m.cursors[c.Source+"/"+c.Stream] = c
	}
	return nil
}

func (m *memWriter) Cursor(_ context.Context, source, stream string) (schema.Cursor, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.cursors[source+"/"+stream]
	if !ok {
		return schema.Cursor{}, fmt.Errorf("cursor %s/%s: %w", source, stream, store.ErrNotFound)
	}
	return c, nil
}

func (m *memWriter) deployments() []schema.Deployment {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []schema.Deployment
	for _, b := range m.batches {
		out = append(out, b.Deployments...)
	}
	return out
}

func (m *memWriter) incidents() []schema.Incident {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []schema.Incident
	for _, b := range m.batches {
		out = append(out, b.Incidents...)
	}
	return out
}

func (m *memWriter) writes() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.batches)
}

// fakeGitHub stands in for the GitHub source: it records the events it is handed
// and answers with a deployment per event, or what respond says.
type fakeGitHub struct {
	mu      sync.Mutex
	events  []string
	respond func(kind string, payload []byte) (*schema.Batch, bool, error)
}

func (f *fakeGitHub) Collect(context.Context, collectors.Writer, collectors.CollectOptions) error {
	return nil
}

func (f *fakeGitHub) HandleEvent(kind string, payload []byte) (*schema.Batch, bool, error) {
	f.mu.Lock()
	f.events = append(f.events, kind)
	respond := f.respond
	f.mu.Unlock()
	if respond != nil {
		return respond(kind, payload)
	}
	var p struct {
		Deployment struct {
			ID int64 `json:"id"`
		} `json:"deployment"`
	}
	if err := json.Unmarshal(payload, &p); err != nil {
		return nil, false, err
	}
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	return &schema.Batch{Deployments: []schema.Deployment{{Source: "acme-github", ID: fmt.Sprint(p.Deployment.ID),
		Service: "api", Environment: "production", Status: schema.DeploymentSuccess, StartedAt: at, UpdatedAt: at}}}, false, nil
}

func (f *fakeGitHub) handled() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.events...)
}

// build builds the webhook source of a one-source config named "ci".
func build(tb testing.TB, settings string) (collectors.Source, error) {
	tb.Helper()
	cfg, err := config.Parse([]byte("sources:\n  - name: ci\n    webhook:\n"+settings), "/etc/flowmeter/f.yaml")
	if err != nil {
		tb.Fatal(err)
	}
	built, err := collectors.Registry{"webhook": webhook.NewSource}.Build(cfg)
	if err != nil {
		return nil, err
	}
	return built[0].Source, nil
}

// allSettings configures every endpoint.
const allSettings = `      token_env: WH_TEST_TOKEN
      hmac_secret_env: WH_TEST_HMAC
      github_secret_env: WH_TEST_GITHUB
      github_source: acme-github
`

func setSecrets(t *testing.T) {
	t.Setenv("WH_TEST_TOKEN", testToken)
	t.Setenv("WH_TEST_HMAC", testHMAC)
	t.Setenv("WH_TEST_GITHUB", testGitHub)
}

// fixture is a webhook source mounted on a mux, with its writer and GitHub source.
type fixture struct {
	mux      *http.ServeMux
	w        *memWriter
	gh       *fakeGitHub
	collects []string
	mu       sync.Mutex
}

var testNow = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

func newFixture(t *testing.T, settings string) *fixture {
	t.Helper()
	setSecrets(t)
	src, err := build(t, settings)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{mux: http.NewServeMux(), w: &memWriter{}, gh: &fakeGitHub{}}
	f.mount(src.(collectors.Receiver), f.w)
	return f
}

func (f *fixture) mount(r collectors.Receiver, w collectors.Writer) {
	f.mux = http.NewServeMux()
	env := collectors.ReceiverEnv{
		Writer: w,
		Source: func(name string) (collectors.Source, bool) {
			if name == "acme-github" {
				return f.gh, true
			}
			return nil, false
		},
		Collect: func(name string) {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.collects = append(f.collects, name)
		},
		Now: func() time.Time { return testNow },
	}
	for path, h := range r.Routes(env) {
		f.mux.Handle(path, h)
	}
}

// request is one HTTP request to a fixture. It says Content-Type: application/json
// unless its headers name a Content-Type ("" for none).
type request struct {
	method, path string
	body         string
	headers      map[string]string
}

func (f *fixture) do(t *testing.T, rq request) *httptest.ResponseRecorder {
	t.Helper()
	if rq.method == "" {
		rq.method = http.MethodPost
	}
	r := httptest.NewRequest(rq.method, rq.path, strings.NewReader(rq.body))
	r.Header.Set("Content-Type", "application/json")
	for k, v := range rq.headers {
		if v == "" {
			r.Header.Del(k)
			continue
		}
		r.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	f.mux.ServeHTTP(rec, r)
	return rec
}

func bearer(token string) map[string]string {
	return map[string]string{"Authorization": "Bearer " + token}
}

func sign(key, body string) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(body))
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// replyOf decodes a response's one-line JSON body.
func replyOf(t *testing.T, rec *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	body := rec.Body.Bytes()
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	if bytes.Count(bytes.TrimSpace(body), []byte("\n")) != 0 {
		t.Errorf("reply is not one line: %q", body)
	}
	var v map[string]any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("reply %q is not JSON: %v", body, err)
	}
	return v
}

var errStoreDown = errors.New("store unreachable")
