package push_test

import (
	"context"
	"fmt"

	"github.com/flowmeter/flowmeter/dashboards/push"
	"github.com/flowmeter/flowmeter/dashboards/push/grafanatest"
)

func ExamplePush() {
	grafana := grafanatest.Start() // a running Grafana, here the fake
	defer grafana.Close()

	c, err := push.NewClient(grafana.URL, grafanatest.AdminToken, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	results, err := push.Push(context.Background(), c, push.Plan{
		FolderUID:   "flowmeter",
		FolderTitle: "flowmeter",
		Datasources: []push.Datasource{{UID: "flowmeter-prometheus", Name: "flowmeter Prometheus", Type: "prometheus", URL: "http://prometheus:9090"}},
		Dashboards:  []push.Dashboard{{UID: "flowmeter-dora", Title: "DORA metrics", JSON: []byte(`{"title":"DORA metrics","panels":[]}`)}},
	})
	for _, r := range results {
		fmt.Println(r.Kind, r.UID, r.Action)
	}
	if err != nil {
		fmt.Println(err)
	}
	// Output:
	// folder flowmeter created
	// datasource flowmeter-prometheus created
	// dashboard flowmeter-dora created
}
