package push

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flowmeter/flowmeter/dashboards/push/grafanatest"
)

func newClient(t *testing.T, g *grafanatest.Server, token string) (*Client, *[]time.Duration) {
	t.Helper()
	c, err := NewClient(g.URL, token, nil)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	waits := &[]time.Duration{}
	c.sleep = func(ctx context.Context, d time.Duration) error {
		mu.Lock()
		defer mu.Unlock()
		*waits = append(*waits, d)
		return ctx.Err()
	}
	return c, waits
}

func plan() Plan {
	return Plan{
		FolderUID:   "flowmeter",
		FolderTitle: "flowmeter",
		Datasources: []Datasource{
			{UID: "flowmeter-clickhouse", Name: "flowmeter ClickHouse", Type: "grafana-clickhouse-datasource",
				JSONData:       map[string]any{"host": "clickhouse", "port": 9000, "protocol": "native", "defaultDatabase": "flowmeter"},
				SecureJSONData: map[string]string{"password": "s3cret"}},
			{UID: "flowmeter-prometheus", Name: "flowmeter Prometheus", Type: "prometheus", URL: "http://prometheus:9090"},
		},
		Dashboards: []Dashboard{
			{UID: "flowmeter-dora", Title: "DORA metrics", JSON: []byte(`{"uid":"flowmeter-dora","title":"DORA metrics","schemaVersion":39,"panels":[{"id":1,"type":"stat","title":"Deployment frequency"}]}`)},
			{UID: "flowmeter-flow", Title: "Flow metrics", JSON: []byte(`{"title":"Flow metrics","schemaVersion":39,"panels":[]}`)},
		},
	}
}

func actions(rs []Result) map[string]string {
	m := map[string]string{}
	for _, r := range rs {
		m[r.Kind+" "+r.UID] = r.Action
	}
	return m
}

func wantActions(t *testing.T, rs []Result, want map[string]string) {
	t.Helper()
	got := actions(rs)
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: action %q, want %q (results %+v)", k, got[k], w, rs)
		}
	}
	if len(rs) != len(want) {
		t.Errorf("%d results, want %d: %+v", len(rs), len(want), rs)
	}
}

func TestPushCreatesThenUpdatesThenLeavesUnchanged(t *testing.T) {
	g := grafanatest.New(t)
	c, _ := newClient(t, g, grafanatest.AdminToken)
	ctx := context.Background()

	rs, err := Push(ctx, c, plan())
	if err != nil {
		t.Fatalf("first push: %v", err)
	}
	wantActions(t, rs, map[string]string{
		"folder flowmeter":                "created",
		"datasource flowmeter-clickhouse": "created",
		"datasource flowmeter-prometheus": "created",
		"dashboard flowmeter-dora":        "created",
		"dashboard flowmeter-flow":        "created",
	})
	if f, ok := g.Folder("flowmeter"); !ok || f.Title != "flowmeter" {
		t.Errorf("folder in Grafana = %+v, %v", f, ok)
	}
	ds, ok := g.Datasource("flowmeter-clickhouse")
	if !ok || ds.Type != "grafana-clickhouse-datasource" || ds.Access != "proxy" || ds.JSONData["defaultDatabase"] != "flowmeter" || ds.SecureJSONData["password"] != "s3cret" {
		t.Errorf("ClickHouse datasource in Grafana = %+v, %v", ds, ok)
	}
	for _, uid := range []string{"flowmeter-dora", "flowmeter-flow"} {
		d, ok := g.Dashboard(uid)
		if !ok || d.FolderUID != "flowmeter" || d.Version != 1 || d.Message != Message || d.Model["uid"] != uid {
			t.Errorf("dashboard %s in Grafana = %+v, %v", uid, d, ok)
		}
	}

	// The second push brings changed dashboards; the datasources are left alone
	// even when flowmeter's settings for them differ from Grafana's.
	p := plan()
	p.Datasources[1].URL = "http://elsewhere:9090"
	p.Dashboards[0].JSON = []byte(`{"uid":"flowmeter-dora","title":"DORA metrics","schemaVersion":39,"panels":[{"id":1,"type":"stat","title":"Deployment frequency"},{"id":2,"type":"stat","title":"Change lead time"}]}`)
	p.Dashboards[1].JSON = []byte(`{"title":"Flow metrics","schemaVersion":39,"panels":[{"id":1,"type":"timeseries","title":"Flow time"}]}`)
	rs, err = Push(ctx, c, p)
	if err != nil {
		t.Fatalf("second push: %v", err)
	}
	wantActions(t, rs, map[string]string{
		"folder flowmeter":                "exists",
		"datasource flowmeter-clickhouse": "exists",
		"datasource flowmeter-prometheus": "exists",
		"dashboard flowmeter-dora":        "updated",
		"dashboard flowmeter-flow":        "updated",
	})
	if ds, _ := g.Datasource("flowmeter-prometheus"); ds.URL != "http://prometheus:9090" {
		t.Errorf("an existing datasource was overwritten: URL %q", ds.URL)
	}
	if d, _ := g.Dashboard("flowmeter-dora"); d.Version != 2 || len(d.Model["panels"].([]any)) != 2 {
		t.Errorf("dashboard after update = %+v", d)
	}

	// The same plan again changes nothing, and adds no dashboard version.
	rs, err = Push(ctx, c, p)
	if err != nil {
		t.Fatalf("third push: %v", err)
	}
	wantActions(t, rs, map[string]string{
		"folder flowmeter":                "exists",
		"datasource flowmeter-clickhouse": "exists",
		"datasource flowmeter-prometheus": "exists",
		"dashboard flowmeter-dora":        "unchanged",
		"dashboard flowmeter-flow":        "unchanged",
	})
	if d, _ := g.Dashboard("flowmeter-dora"); d.Version != 2 {
		t.Errorf("an unchanged dashboard was saved again: version %d", d.Version)
	}
}

func TestPushSendsFolderUIDOverwriteAndMessage(t *testing.T) {
	g := grafanatest.New(t)
	c, _ := newClient(t, g, grafanatest.AdminToken)
	if _, err := Push(context.Background(), c, plan()); err != nil {
		t.Fatal(err)
	}
	saves := 0
	for _, r := range g.Requests() {
		if r.Authorization != "Bearer "+grafanatest.AdminToken {
			t.Errorf("%s %s sent Authorization %q", r.Method, r.Path, r.Authorization)
		}
		if r.Method != http.MethodPost || r.Path != "/api/dashboards/db" {
			continue
		}
		saves++
		var body map[string]any
		if err := json.Unmarshal(r.Body, &body); err != nil {
			t.Fatal(err)
		}
		if body["folderUid"] != "flowmeter" || body["overwrite"] != true || body["message"] != Message {
			t.Errorf("save body = %s", r.Body)
		}
		model, _ := body["dashboard"].(map[string]any)
		if uid, _ := model["uid"].(string); !strings.HasPrefix(uid, "flowmeter-") {
			t.Errorf("saved model has uid %v", model["uid"])
		}
		if _, ok := model["id"]; ok {
			t.Errorf("saved model carries an id: %s", r.Body)
		}
	}
	if saves != 2 {
		t.Errorf("%d dashboard saves, want 2", saves)
	}
}

func TestPushWithARefusedTokenFailsEveryItem(t *testing.T) {
	for _, token := range []string{"glsa_wrong", ""} {
		g := grafanatest.New(t)
		if token == "" {
			// NewClient refuses an empty token; a client without one reaches
			// Grafana only through a hand-made Client, so check the refusal.
			if _, err := NewClient(g.URL, token, nil); err == nil || !strings.Contains(err.Error(), "service-account token") {
				t.Errorf("NewClient with no token = %v", err)
			}
			continue
		}
		c, _ := newClient(t, g, token)
		rs, err := Push(context.Background(), c, plan())
		if !errors.Is(err, ErrUnauthorized) {
			t.Fatalf("Push = %v, want ErrUnauthorized", err)
		}
		if len(rs) != 5 {
			t.Fatalf("%d results, want 5", len(rs))
		}
		for _, r := range rs {
			if r.Action != Failed || !errors.Is(r.Err, ErrUnauthorized) {
				t.Errorf("%s %s: %s, %v", r.Kind, r.UID, r.Action, r.Err)
				continue
			}
			if msg := r.Err.Error(); !strings.Contains(msg, "service-account token") || !strings.Contains(msg, "401") {
				t.Errorf("%s %s: unclear message %q", r.Kind, r.UID, msg)
			}
		}
		for _, uid := range []string{"flowmeter", "flowmeter-clickhouse", "flowmeter-prometheus", "flowmeter-dora", "flowmeter-flow"} {
			if !strings.Contains(err.Error(), `"`+uid+`"`) {
				t.Errorf("Push's error does not name %s: %v", uid, err)
			}
		}
	}
}

func TestPushWithAViewerTokenNamesTheRoleNeeded(t *testing.T) {
	g := grafanatest.New(t)
	c, _ := newClient(t, g, grafanatest.ViewerToken)
	rs, err := Push(context.Background(), c, plan())
	if !errors.Is(err, ErrForbidden) {
		t.Fatalf("Push = %v, want ErrForbidden", err)
	}
	for _, r := range rs {
		if r.Action != Failed || !errors.Is(r.Err, ErrForbidden) {
			t.Errorf("%s %s: %s, %v", r.Kind, r.UID, r.Action, r.Err)
			continue
		}
		role := "Editor"
		if r.Kind == KindDatasource {
			role = "Admin role"
		}
		if msg := r.Err.Error(); !strings.Contains(msg, role) || !strings.Contains(msg, "403") {
			t.Errorf("%s %s: message %q does not say 403 and the %s", r.Kind, r.UID, msg, role)
		}
	}
	if len(rs) != 5 {
		t.Errorf("%d results, want 5", len(rs))
	}
	if _, ok := g.Folder("flowmeter"); ok {
		t.Error("a viewer made the folder")
	}
}

func TestPushWithAnEditorTokenFailsOnlyTheDatasources(t *testing.T) {
	g := grafanatest.New(t)
	c, _ := newClient(t, g, grafanatest.EditorToken)
	rs, err := Push(context.Background(), c, plan())
	if !errors.Is(err, ErrForbidden) {
		t.Fatalf("Push = %v, want ErrForbidden", err)
	}
	wantActions(t, rs, map[string]string{
		"folder flowmeter":                "created",
		"datasource flowmeter-clickhouse": "failed",
		"datasource flowmeter-prometheus": "failed",
		"dashboard flowmeter-dora":        "created",
		"dashboard flowmeter-flow":        "created",
	})
	if !strings.Contains(err.Error(), "Admin role") {
		t.Errorf("error does not name the Admin role: %v", err)
	}
}

func TestPushRetriesA5xxOnce(t *testing.T) {
	g := grafanatest.New(t)
	g.Inject(grafanatest.Fault{Method: http.MethodPost, Path: "/api/dashboards/db", DashboardUID: "flowmeter-dora", Status: http.StatusBadGateway, Times: 1})
	g.Inject(grafanatest.Fault{Method: http.MethodGet, Path: "/api/folders/flowmeter", Status: http.StatusServiceUnavailable, Times: 1})
	c, waits := newClient(t, g, grafanatest.AdminToken)
	rs, err := Push(context.Background(), c, plan())
	if err != nil {
		t.Fatalf("Push = %v", err)
	}
	wantActions(t, rs, map[string]string{
		"folder flowmeter":                "created",
		"datasource flowmeter-clickhouse": "created",
		"datasource flowmeter-prometheus": "created",
		"dashboard flowmeter-dora":        "created",
		"dashboard flowmeter-flow":        "created",
	})
	if len(*waits) != 2 {
		t.Errorf("waited %v, want two waits", *waits)
	}
	for _, w := range *waits {
		if w <= 0 || w > backoffLimit {
			t.Errorf("wait %s out of (0, %s]", w, backoffLimit)
		}
	}
}

func TestPushPersistent5xxFailsOnlyThatDashboard(t *testing.T) {
	g := grafanatest.New(t)
	g.Inject(grafanatest.Fault{Method: http.MethodPost, Path: "/api/dashboards/db", DashboardUID: "flowmeter-flow", Status: http.StatusInternalServerError})
	c, waits := newClient(t, g, grafanatest.AdminToken)
	rs, err := Push(context.Background(), c, plan())
	var pe *Error
	if !errors.As(err, &pe) || len(pe.Failed) != 1 || pe.Failed[0].UID != "flowmeter-flow" {
		t.Fatalf("Push = %v, want one failed item, flowmeter-flow", err)
	}
	if !errors.Is(err, ErrServer) || !strings.Contains(err.Error(), `dashboard "flowmeter-flow"`) || !strings.Contains(err.Error(), "4 tries") {
		t.Errorf("error = %v", err)
	}
	wantActions(t, rs, map[string]string{
		"folder flowmeter":                "created",
		"datasource flowmeter-clickhouse": "created",
		"datasource flowmeter-prometheus": "created",
		"dashboard flowmeter-dora":        "created",
		"dashboard flowmeter-flow":        "failed",
	})
	if len(*waits) != Retries {
		t.Errorf("waited %d times, want %d", len(*waits), Retries)
	}
	if _, ok := g.Dashboard("flowmeter-dora"); !ok {
		t.Error("the healthy dashboard was not saved")
	}
}

func TestPushDatasourceNameTakenByAnother(t *testing.T) {
	g := grafanatest.New(t)
	g.AddDatasource(grafanatest.Datasource{UID: "hand-made", Name: "flowmeter Prometheus", Type: "prometheus", URL: "http://x"})
	c, _ := newClient(t, g, grafanatest.AdminToken)
	rs, err := Push(context.Background(), c, plan())
	if !errors.Is(err, ErrConflict) {
		t.Fatalf("Push = %v, want ErrConflict", err)
	}
	if got := actions(rs)["datasource flowmeter-prometheus"]; got != Failed {
		t.Errorf("action %q", got)
	}
	if !strings.Contains(err.Error(), "409") || !strings.Contains(err.Error(), "UID") {
		t.Errorf("error = %v", err)
	}
}

func TestPushFolderFailureStopsItsDashboardsOnly(t *testing.T) {
	g := grafanatest.New(t)
	g.Inject(grafanatest.Fault{Method: http.MethodPost, Path: "/api/folders", Status: http.StatusServiceUnavailable})
	c, _ := newClient(t, g, grafanatest.AdminToken)
	rs, err := Push(context.Background(), c, plan())
	if !errors.Is(err, ErrServer) {
		t.Fatalf("Push = %v", err)
	}
	wantActions(t, rs, map[string]string{
		"folder flowmeter":                "failed",
		"datasource flowmeter-clickhouse": "created",
		"datasource flowmeter-prometheus": "created",
		"dashboard flowmeter-dora":        "failed",
		"dashboard flowmeter-flow":        "failed",
	})
	for _, r := range rs {
		if r.Kind == KindDashboard && !strings.Contains(r.Err.Error(), `folder "flowmeter" is not ready`) {
			t.Errorf("%s: %v", r.UID, r.Err)
		}
	}
	for _, r := range g.Requests() {
		if r.Path == "/api/dashboards/db" {
			t.Error("a dashboard was sent into a folder that is not there")
		}
	}
}

func TestAPIErrorMessages(t *testing.T) {
	dash := op{http.MethodPost, "/api/dashboards/db", KindDashboard, "save"}
	tests := []struct {
		name   string
		o      op
		status int
		body   string
		kind   error
		want   []string
	}{
		{"version mismatch", dash, 412, `{"message":"The dashboard has been changed by someone else","status":"version-mismatch"}`, ErrConflict,
			[]string{"412 Precondition Failed", "version-mismatch", "changed in Grafana since", "overwrite"}},
		{"name exists", dash, 412, `{"message":"A dashboard with the same name in the folder already exists","status":"name-exists"}`, ErrConflict,
			[]string{"name-exists", "already has this title"}},
		{"folder missing on save", dash, 400, `{"message":"folder not found","status":"not-found"}`, ErrNotFound,
			[]string{"folder is not in Grafana"}},
		{"folder 404", op{http.MethodGet, "/api/folders/flowmeter", KindFolder, "read"}, 404, `{"message":"folder not found"}`, ErrNotFound,
			[]string{"404 Not Found", "folder is not in Grafana"}},
		{"proxy page", dash, 502, `<html>Bad Gateway</html>`, ErrServer,
			[]string{"502 Bad Gateway", "<html>Bad Gateway</html>"}},
		{"datasource forbidden", op{http.MethodPost, "/api/datasources", KindDatasource, "create"}, 403, `{"message":"Permission denied"}`, ErrForbidden,
			[]string{"403 Forbidden", "Admin role"}},
		{"provisioned", dash, 400, `{"message":"Cannot save provisioned dashboard"}`, ErrRequest,
			[]string{"400 Bad Request", "provisions the dashboard from files", "dashboards export"}},
		{"bad request", dash, 400, `{"message":"Dashboard title cannot be empty"}`, ErrRequest,
			[]string{"400 Bad Request", "Dashboard title cannot be empty"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := newAPIError(tc.o, tc.status, []byte(tc.body), 1)
			if !errors.Is(err, tc.kind) {
				t.Errorf("kind = %v, want %v", err.kind, tc.kind)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%q lacks %q", err.Error(), w)
				}
			}
		})
	}
}

func TestNewClientChecksItsSettings(t *testing.T) {
	for _, u := range []string{"", "grafana:3000", "ftp://grafana", "http://"} {
		if _, err := NewClient(u, "glsa_x", nil); err == nil {
			t.Errorf("NewClient(%q) took it", u)
		}
	}
	if _, err := NewClient("http://grafana:3000/grafana/", "glsa_x", nil); err != nil {
		t.Errorf("NewClient with a sub-path: %v", err)
	}
}

func TestTokenWithAColonIsStillABearerToken(t *testing.T) {
	g := grafanatest.New(t)
	c, _ := newClient(t, g, "user:pass")
	_, _ = Push(context.Background(), c, Plan{FolderUID: "flowmeter"})
	for _, r := range g.Requests() {
		if r.Authorization != "Bearer user:pass" {
			t.Errorf("%s %s sent Authorization %q", r.Method, r.Path, r.Authorization)
		}
	}
}

func TestPushRejectsBadItemsWithoutSendingThem(t *testing.T) {
	g := grafanatest.New(t)
	c, _ := newClient(t, g, grafanatest.AdminToken)
	rs, err := Push(context.Background(), c, Plan{Dashboards: []Dashboard{
		{UID: "has/slash", Title: "x", JSON: []byte(`{}`)},
		{UID: "ok-uid", Title: "x", JSON: []byte(`[1]`)},
		{UID: "other-uid", Title: "x", JSON: []byte(`{"uid":"not-this"}`)},
	}})
	if err == nil || len(rs) != 3 {
		t.Fatalf("Push = %v, %+v", err, rs)
	}
	for _, r := range rs {
		if r.Action != Failed {
			t.Errorf("%s: %s", r.UID, r.Action)
		}
	}
	if n := len(g.Requests()); n != 0 {
		t.Errorf("%d requests sent", n)
	}
}

func TestPushHonoursRetryAfter(t *testing.T) {
	g := grafanatest.New(t)
	g.Inject(grafanatest.Fault{Method: http.MethodGet, Path: "/api/folders/flowmeter", Status: http.StatusServiceUnavailable, Times: 1, RetryAfter: "12"})
	c, waits := newClient(t, g, grafanatest.AdminToken)
	if _, err := Push(context.Background(), c, Plan{FolderUID: "flowmeter"}); err != nil {
		t.Fatal(err)
	}
	if len(*waits) != 1 || (*waits)[0] != 12*time.Second {
		t.Errorf("waits %v, want [12s]", *waits)
	}
}

func TestPushOverwritesHandEditsAndMovesBackIntoTheFolder(t *testing.T) {
	g := grafanatest.New(t)
	c, _ := newClient(t, g, grafanatest.AdminToken)
	ctx := context.Background()
	if _, err := Push(ctx, c, plan()); err != nil {
		t.Fatal(err)
	}
	// Someone edits one dashboard in Grafana and moves the other to the root.
	other, err := NewClient(g.URL, grafanatest.EditorToken, nil)
	if err != nil {
		t.Fatal(err)
	}
	edited := saveRequest{Dashboard: map[string]any{"uid": "flowmeter-dora", "title": "DORA metrics", "panels": []any{}}, FolderUID: "flowmeter", Overwrite: true}
	moved := saveRequest{Dashboard: map[string]any{"uid": "flowmeter-flow", "title": "Flow metrics", "schemaVersion": 39, "panels": []any{}}, Overwrite: true}
	for _, req := range []saveRequest{edited, moved} {
		if err := other.raw(ctx, http.MethodPost, "/api/dashboards/db", req, nil); err != nil {
			t.Fatal(err)
		}
	}
	rs, err := Push(ctx, c, plan())
	if err != nil {
		t.Fatal(err)
	}
	if a := actions(rs); a["dashboard flowmeter-dora"] != Updated || a["dashboard flowmeter-flow"] != Updated {
		t.Errorf("actions %v", a)
	}
	if d, _ := g.Dashboard("flowmeter-flow"); d.FolderUID != "flowmeter" || d.Version != 3 {
		t.Errorf("moved dashboard after push = %+v", d)
	}
	if d, _ := g.Dashboard("flowmeter-dora"); len(d.Model["panels"].([]any)) != 1 {
		t.Errorf("edited dashboard after push = %+v", d)
	}
}

func TestPushStopsWithItsContext(t *testing.T) {
	g := grafanatest.New(t)
	g.Inject(grafanatest.Fault{Method: http.MethodGet, Path: "/api/folders/flowmeter", Status: http.StatusBadGateway})
	c, _ := newClient(t, g, grafanatest.AdminToken)
	ctx, cancel := context.WithCancel(context.Background())
	c.sleep = func(context.Context, time.Duration) error { cancel(); return context.Canceled }
	rs, err := Push(ctx, c, plan())
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Push = %v, want context.Canceled", err)
	}
	if len(rs) != 5 {
		t.Errorf("%d results, want 5", len(rs))
	}
}
