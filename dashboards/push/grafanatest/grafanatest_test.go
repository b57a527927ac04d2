package grafanatest

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

func post(t *testing.T, s *Server, token, path, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func TestSaveDashboardAnswersAsGrafanaDoes(t *testing.T) {
	s := New(t)
	code, out := post(t, s, EditorToken, "/api/dashboards/db", `{"dashboard":{"id":null,"uid":"flowmeter-dora","title":"DORA metrics"},"overwrite":false}`)
	if code != 200 || out["status"] != "success" || out["uid"] != "flowmeter-dora" || out["version"] != 1.0 ||
		out["slug"] != "dora-metrics" || out["url"] != "/d/flowmeter-dora/dora-metrics" || out["id"] == nil {
		t.Fatalf("create = %d %v", code, out)
	}
	// A save of an older version without overwrite is a version conflict.
	code, out = post(t, s, EditorToken, "/api/dashboards/db", `{"dashboard":{"uid":"flowmeter-dora","title":"DORA metrics","version":0},"overwrite":false}`)
	if code != http.StatusPreconditionFailed || out["status"] != "version-mismatch" || out["message"] == "" {
		t.Fatalf("stale save = %d %v", code, out)
	}
	code, out = post(t, s, EditorToken, "/api/dashboards/db", `{"dashboard":{"uid":"flowmeter-dora","title":"DORA metrics","version":1},"overwrite":false}`)
	if code != 200 || out["version"] != 2.0 {
		t.Fatalf("current save = %d %v", code, out)
	}
	code, out = post(t, s, EditorToken, "/api/dashboards/db", `{"dashboard":{"uid":"other","title":"DORA metrics"},"overwrite":false}`)
	if code != http.StatusPreconditionFailed || out["status"] != "name-exists" {
		t.Fatalf("same title = %d %v", code, out)
	}
	code, _ = post(t, s, EditorToken, "/api/dashboards/db", `{"dashboard":{"uid":"x","title":"x"},"folderUid":"missing","overwrite":true}`)
	if code != http.StatusBadRequest {
		t.Fatalf("missing folder = %d", code)
	}
}

func TestAuth(t *testing.T) {
	s := New(t)
	for _, tc := range []struct {
		token, path string
		want        int
	}{
		{"", "/api/folders", 401},
		{"wrong", "/api/folders", 401},
		{ViewerToken, "/api/folders", 403},
		{EditorToken, "/api/datasources", 403},
		{EditorToken, "/api/folders", 200},
		{AdminToken, "/api/datasources", 200},
	} {
		body := `{"uid":"flowmeter","title":"flowmeter"}`
		if tc.path == "/api/datasources" {
			body = `{"uid":"flowmeter-prometheus","name":"p","type":"prometheus","access":"proxy"}`
		}
		if code, out := post(t, s, tc.token, tc.path, body); code != tc.want {
			t.Errorf("%q POST %s = %d %v, want %d", tc.token, tc.path, code, out, tc.want)
		}
	}
}
