package dashboards

import (
	"fmt"
	"os"
	"path/filepath"
)

// The provisioning files Export writes, and where Grafana finds the dashboards.
const (
	DatasourcesFile       = "provisioning/datasources/flowmeter.yaml"
	DashboardsFile        = "provisioning/dashboards/flowmeter.yaml"
	DashboardsDir         = "dashboards"
	GrafanaDashboardsPath = "/var/lib/grafana/dashboards/flowmeter"
)

// datasourcesYAML provisions the ClickHouse and Prometheus datasources; Grafana
// fills $VAR from its environment when it reads the file.
const datasourcesYAML = `# Written by 'flowmeter dashboards export'. Grafana replaces $VAR and ${VAR}
# with its environment's values when it reads this file; provisioning has no
# defaults, so set CLICKHOUSE_HOST (clickhouse in docker-compose.yml),
# CLICKHOUSE_USER and CLICKHOUSE_PASSWORD in Grafana's environment.
apiVersion: 1

datasources:
  - name: flowmeter ClickHouse
    type: ` + ClickHousePluginType + `
    uid: ` + ClickHouseUID + `
    access: proxy
    editable: false
    jsonData:
      host: $CLICKHOUSE_HOST
      port: 9000
      protocol: native
      defaultDatabase: flowmeter
      username: $CLICKHOUSE_USER
    secureJsonData:
      password: $CLICKHOUSE_PASSWORD
  - name: flowmeter Prometheus
    type: prometheus
    uid: ` + PrometheusUID + `
    access: proxy
    url: http://prometheus:9090
    editable: false
`

// dashboardsYAML provisions the dashboards from files, in the flowmeter folder.
const dashboardsYAML = `# Written by 'flowmeter dashboards export'.
apiVersion: 1

providers:
  - name: flowmeter
    type: file
    folder: ` + FolderTitle + `
    folderUid: ` + FolderUID + `
    allowUiUpdates: false
    disableDeletion: false
    options:
      path: ` + GrafanaDashboardsPath + `
`

// Files is every file Export writes, by path relative to its directory.
func Files() (map[string][]byte, error) {
	all, err := All()
	if err != nil {
		return nil, err
	}
	files := map[string][]byte{
		DatasourcesFile: []byte(datasourcesYAML),
		DashboardsFile:  []byte(dashboardsYAML),
	}
	for _, d := range all {
		files[filepath.ToSlash(filepath.Join(DashboardsDir, d.UID+".json"))] = d.JSON
	}
	return files, nil
}

// Export writes every dashboard to dir/dashboards/<uid>.json and the provisioning
// files to dir/provisioning, replacing files of the same name.
func Export(dir string) error {
	files, err := Files()
	if err != nil {
		return err
	}
	for name, data := range files {
		path := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return fmt.Errorf("dashboards: %w", err)
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			return fmt.Errorf("dashboards: %w", err)
		}
	}
	return nil
}
