package dashboards

import (
	"bytes"
	"encoding/json"
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

var update = flag.Bool("update", false, "rewrite dashboards/generated from Export")

const generated = "generated"

// TestGeneratedIsCurrent fails when the committed dashboards/generated differs from
// what Export writes; go test ./dashboards -update rewrites it.
func TestGeneratedIsCurrent(t *testing.T) {
	if *update {
		if err := os.RemoveAll(generated); err != nil {
			t.Fatal(err)
		}
		if err := Export(generated); err != nil {
			t.Fatal(err)
		}
	}
	want, err := Files()
	if err != nil {
		t.Fatal(err)
	}
	got := readTree(t, generated)
	for name, data := range want {
		if !bytes.Equal(got[name], data) {
			t.Errorf("%s/%s is not what Export writes: run go test ./dashboards -update", generated, name)
		}
	}
	for name := range got {
		if _, ok := want[name]; !ok {
			t.Errorf("%s/%s is not written by Export: run go test ./dashboards -update", generated, name)
		}
	}
}

func readTree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		rel, _ := filepath.Rel(dir, path)
		out[filepath.ToSlash(rel)] = data
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestExportWritesExactlyTheFiles(t *testing.T) {
	dir := t.TempDir()
	if err := Export(dir); err != nil {
		t.Fatal(err)
	}
	var names []string
	for name := range readTree(t, dir) {
		names = append(names, name)
	}
	slices.Sort(names)
	want := []string{
		"dashboards/flowmeter-executive.json",
		"dashboards/flowmeter-flow.json",
		"dashboards/flowmeter-health.json",
		"dashboards/flowmeter-team-delivery.json",
		"dashboards/flowmeter-toil.json",
		"provisioning/dashboards/flowmeter.yaml",
		"provisioning/datasources/flowmeter.yaml",
	}
	if !slices.Equal(names, want) {
		t.Errorf("Export wrote %v, want %v", names, want)
	}
}

func TestStableUIDs(t *testing.T) {
	all, err := All()
	if err != nil {
		t.Fatal(err)
	}
	var uids []string
	for _, d := range all {
		uids = append(uids, d.UID)
		var m map[string]any
		if err := json.Unmarshal(d.JSON, &m); err != nil {
			t.Fatal(err)
		}
		if m["uid"] != d.UID || m["title"] != d.Title {
			t.Errorf("%s: JSON says uid %v title %v", d.UID, m["uid"], m["title"])
		}
		if !bytes.HasSuffix(d.JSON, []byte("}\n")) {
			t.Errorf("%s: JSON does not end with a newline", d.UID)
		}
	}
	want := []string{"flowmeter-executive", "flowmeter-team-delivery", "flowmeter-flow", "flowmeter-toil", "flowmeter-health"}
	if !slices.Equal(uids, want) {
		t.Errorf("UIDs %v, want %v in this order", uids, want)
	}
	again, _ := All()
	for i := range all {
		if !bytes.Equal(all[i].JSON, again[i].JSON) {
			t.Errorf("%s: two builds differ", all[i].UID)
		}
	}
}

type gridPos struct{ X, Y, W, H int }

type jsonPanel struct {
	Type        string                      `json:"type"`
	Title       string                      `json:"title"`
	Description string                      `json:"description"`
	Datasource  *struct{ Type, UID string } `json:"datasource"`
	GridPos     gridPos                     `json:"gridPos"`
	Targets     []map[string]any            `json:"targets"`
	FieldConfig struct {
		Defaults struct {
			Unit string `json:"unit"`
		} `json:"defaults"`
	} `json:"fieldConfig"`
}

type jsonDashboard struct {
	UID        string           `json:"uid"`
	Tags       []string         `json:"tags"`
	Panels     []jsonPanel      `json:"panels"`
	Links      []map[string]any `json:"links"`
	Templating struct {
		List []struct{ Name string } `json:"list"`
	} `json:"templating"`
}

func parsed(t *testing.T) []jsonDashboard {
	t.Helper()
	all, err := All()
	if err != nil {
		t.Fatal(err)
	}
	var out []jsonDashboard
	for _, b := range all {
		var d jsonDashboard
		if err := json.Unmarshal(b.JSON, &d); err != nil {
			t.Fatalf("%s: %v", b.UID, err)
		}
		out = append(out, d)
	}
	return out
}

// TestPanels checks every panel of every dashboard: a known type, a datasource, a
// query, a unit, a description, a place within 24 columns that no other panel takes.
func TestPanels(t *testing.T) {
	known := map[string]bool{kindStat: true, kindTimeSeries: true, kindTable: true, kindBarChart: true}
	for _, d := range parsed(t) {
		if !slices.Contains(d.Tags, Tag) {
			t.Errorf("%s: no tag %q", d.UID, Tag)
		}
		if len(d.Links) == 0 {
			t.Errorf("%s: no links to the other dashboards", d.UID)
		}
		if len(d.Panels) == 0 {
			t.Errorf("%s: no panels", d.UID)
		}
		var placed []jsonPanel
		for _, p := range d.Panels {
			name := d.UID + ": " + p.Title
			g := p.GridPos
			if g.W <= 0 || g.H <= 0 || g.X < 0 || g.X+g.W > 24 {
				t.Errorf("%s: gridPos %+v is not inside 24 columns", name, g)
			}
			for _, o := range placed {
				h := o.GridPos
				if g.X < h.X+h.W && h.X < g.X+g.W && g.Y < h.Y+h.H && h.Y < g.Y+g.H {
					t.Errorf("%s overlaps %s", name, o.Title)
				}
			}
			placed = append(placed, p)
			if p.Type == "row" {
				continue
			}
			if !known[p.Type] {
				t.Errorf("%s: unknown panel type %q", name, p.Type)
			}
			if p.Description == "" {
				t.Errorf("%s: no description", name)
			}
			if p.Datasource == nil || p.Datasource.UID == "" {
				t.Errorf("%s: no datasource", name)
			}
			if p.FieldConfig.Defaults.Unit == "" {
				t.Errorf("%s: no unit", name)
			}
			if len(p.Targets) == 0 {
				t.Errorf("%s: no targets", name)
			}
			for _, q := range p.Targets {
				sql, _ := q["rawSql"].(string)
				expr, _ := q["expr"].(string)
				if sql == "" && expr == "" {
					t.Errorf("%s: target %v has neither rawSql nor expr", name, q["refId"])
				}
				ds, _ := q["datasource"].(map[string]any)
				if sql != "" && (ds["uid"] != ClickHouseUID || q["format"] == nil || q["editorType"] != "sql") {
					t.Errorf("%s: ClickHouse target %v: datasource %v, format %v, editorType %v", name, q["refId"], ds, q["format"], q["editorType"])
				}
				// The plugin's backend numbers formats as Grafana's sqlutil does:
				// 0 time series, 1 table; queryType says the same in words.
				if sql != "" {
					want := map[any]float64{"timeseries": 0, "table": 1}[q["queryType"]]
					if f, ok := q["format"].(float64); !ok || f != want || (q["queryType"] != "timeseries" && q["queryType"] != "table") {
						t.Errorf("%s: target %v has queryType %v and format %v; want timeseries with 0 or table with 1", name, q["refId"], q["queryType"], q["format"])
					}
				}
				if expr != "" && ds["uid"] != PrometheusUID {
					t.Errorf("%s: Prometheus target on datasource %v", name, ds)
				}
			}
		}
	}
}

func TestVariables(t *testing.T) {
	want := map[string][]string{
		"flowmeter-executive":     {"team"},
		"flowmeter-team-delivery": {"team", "service", "bucket"},
		"flowmeter-flow":          {"team", "bucket"},
		"flowmeter-toil":          {"team", "bucket"},
		"flowmeter-health":        {"source"},
	}
	for _, d := range parsed(t) {
		var names []string
		for _, v := range d.Templating.List {
			names = append(names, v.Name)
		}
		if !slices.Equal(names, want[d.UID]) {
			t.Errorf("%s: variables %v, want %v", d.UID, names, want[d.UID])
		}
	}
}

func TestProvisioning(t *testing.T) {
	files, err := Files()
	if err != nil {
		t.Fatal(err)
	}
	var ds struct {
		APIVersion  int `yaml:"apiVersion"`
		Datasources []struct {
			Name, Type, UID, URL string
			JSONData             map[string]any `yaml:"jsonData"`
			SecureJSONData       map[string]any `yaml:"secureJsonData"`
		}
	}
	if err := yaml.Unmarshal(files[DatasourcesFile], &ds); err != nil {
		t.Fatal(err)
	}
	if ds.APIVersion != 1 || len(ds.Datasources) != 2 {
		t.Fatalf("datasources: %+v", ds)
	}
	ch, prom := ds.Datasources[0], ds.Datasources[1]
	if ch.UID != ClickHouseUID || ch.Type != "grafana-clickhouse-datasource" ||
		ch.JSONData["host"] != "$CLICKHOUSE_HOST" || ch.JSONData["port"] != 9000 || ch.JSONData["protocol"] != "native" ||
		ch.JSONData["defaultDatabase"] != "flowmeter" || ch.JSONData["username"] != "$CLICKHOUSE_USER" ||
		ch.SecureJSONData["password"] != "$CLICKHOUSE_PASSWORD" {
		t.Errorf("ClickHouse datasource: %+v", ch)
	}
	if prom.UID != PrometheusUID || prom.Type != "prometheus" || prom.URL != "http://prometheus:9090" {
		t.Errorf("Prometheus datasource: %+v", prom)
	}

	var db struct {
		APIVersion int `yaml:"apiVersion"`
		Providers  []struct {
			Name, Type, Folder string
			FolderUID          string `yaml:"folderUid"`
			AllowUIUpdates     bool   `yaml:"allowUiUpdates"`
			Options            struct{ Path string }
		}
	}
	if err := yaml.Unmarshal(files[DashboardsFile], &db); err != nil {
		t.Fatal(err)
	}
	if db.APIVersion != 1 || len(db.Providers) != 1 {
		t.Fatalf("dashboard providers: %+v", db)
	}
	p := db.Providers[0]
	if p.Type != "file" || p.Folder != "flowmeter" || p.FolderUID != FolderUID || p.AllowUIUpdates ||
		p.Options.Path != "/var/lib/grafana/dashboards/flowmeter" {
		t.Errorf("dashboard provider: %+v", p)
	}
}

// TestHealthFamiliesAreDocumented fails when the health dashboard queries a
// flowmeter family that docs/prometheus.md does not list.
func TestHealthFamiliesAreDocumented(t *testing.T) {
	doc, err := os.ReadFile("../docs/prometheus.md")
	if err != nil {
		t.Fatal(err)
	}
	family := regexp.MustCompile(`flowmeter_[a-z_]+`)
	seen := 0
	for _, d := range parsed(t) {
		for _, p := range d.Panels {
			for _, q := range p.Targets {
				expr, _ := q["expr"].(string)
				for _, f := range family.FindAllString(expr, -1) {
					seen++
					f = strings.TrimSuffix(f, "_bucket")
					if !bytes.Contains(doc, []byte("`"+f+"`")) {
						t.Errorf("%s / %s: %s is not in docs/prometheus.md", d.UID, p.Title, f)
					}
				}
			}
		}
	}
	if seen == 0 {
		t.Error("no flowmeter family queried")
	}
}
