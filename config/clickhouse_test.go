package config

import (
	"reflect"
	"testing"
	"time"
)

func TestClickHouseCluster(t *testing.T) {
	c, err := Parse(doc(
		"store:",
		"  clickhouse:",
		"    cluster: flowmeter",
		"    addrs: [ch1:9000, ch2:9000]",
	), "f.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := &ClickHouse{
		Addrs:            []string{"ch1:9000", "ch2:9000"},
		ConnOpenStrategy: "in_order",
		Cluster:          "flowmeter",
		ReplicaPath:      "/clickhouse/tables/{shard}/{database}/{table}",
		ReplicaName:      "{replica}",
		Database:         "flowmeter",
		Username:         "default",
		DialTimeout:      Duration{5 * time.Second},
	}
	if got := c.Store.ClickHouse; !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	if got := c.Store.ClickHouse.Servers(); !reflect.DeepEqual(got, []string{"ch1:9000", "ch2:9000"}) {
		t.Errorf("Servers() = %q", got)
	}

	// Without cluster and addrs, nothing changes: one address, no replica settings.
	one, err := Parse(doc("store:", "  clickhouse:", "    addr: db:9000"), "f.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ch := one.Store.ClickHouse
	if ch.Cluster != "" || ch.ReplicaPath != "" || ch.ReplicaName != "" || ch.ConnOpenStrategy != "" || ch.Addrs != nil {
		t.Errorf("single server got cluster settings: %+v", ch)
	}
	if got := ch.Servers(); !reflect.DeepEqual(got, []string{"db:9000"}) {
		t.Errorf("Servers() = %q", got)
	}

	custom, err := Parse(doc(
		"store:",
		"  clickhouse:",
		"    cluster: c2",
		"    addrs: [a:9000, b:9000]",
		"    conn_open_strategy: round_robin",
		"    replica_path: /ch/{layer}-{shard}/{table}",
		"    replica_name: '{host}'",
	), "f.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ch = custom.Store.ClickHouse
	if ch.ConnOpenStrategy != "round_robin" || ch.ReplicaPath != "/ch/{layer}-{shard}/{table}" || ch.ReplicaName != "{host}" {
		t.Errorf("custom settings not kept: %+v", ch)
	}
}

func TestClickHouseClusterInvalid(t *testing.T) {
	tests := []struct {
		name string
		yaml []byte
		want string
	}{
		{"addr and addrs", doc(
			"store:",
			"  clickhouse:",
			"    addr: a:9000",
			"    addrs: [b:9000]",
		), `f.yaml:4: store.clickhouse.addrs: give addr or addrs, not both`},
		{"addrs entry without port", doc(
			"store:",
			"  clickhouse:",
			"    addrs:",
			"      - a:9000",
			"      - b",
		), `f.yaml:5: store.clickhouse.addrs[1]: want host:port, got "b"`},
		{"addrs entry twice", doc(
			"store:",
			"  clickhouse:",
			"    addrs:",
			"      - a:9000",
			"      - a:9000",
		), `f.yaml:5: store.clickhouse.addrs[1]: duplicate address "a:9000"`},
		{"cluster not an identifier", doc(
			"store:",
			"  clickhouse:",
			"    cluster: my-cluster",
		), `f.yaml:3: store.clickhouse.cluster: invalid cluster name "my-cluster": use letters, digits and _, not starting with a digit`},
		{"replica path without cluster", doc(
			"store:",
			"  clickhouse:",
			"    replica_path: /t/{table}",
		), `f.yaml:3: store.clickhouse.replica_path: only applies with cluster`},
		{"replica path with a quote", doc(
			"store:",
			"  clickhouse:",
			"    cluster: c",
			`    replica_path: "/t/{table}'"`,
		), `f.yaml:4: store.clickhouse.replica_path: must not contain quotes, backslashes or control characters: "/t/{table}'"`},
		{"replica path relative", doc(
			"store:",
			"  clickhouse:",
			"    cluster: c",
			"    replica_path: t/{table}",
		), `f.yaml:4: store.clickhouse.replica_path: must start with /, got "t/{table}"`},
		{"replica path without table", doc(
			"store:",
			"  clickhouse:",
			"    cluster: c",
			"    replica_path: /t/{shard}",
		), `f.yaml:4: store.clickhouse.replica_path: must contain {table}, got "/t/{shard}"`},
		{"replica path without a macro of the servers", doc(
			"store:",
			"  clickhouse:",
			"    cluster: c",
			"    replica_path: /t/{database}/{table}",
		), `f.yaml:4: store.clickhouse.replica_path: must contain a macro of the servers' own, such as {shard}, got "/t/{database}/{table}"`},
		{"replica name with a backslash", doc(
			"store:",
			"  clickhouse:",
			"    cluster: c",
			`    replica_name: 'a\b'`,
		), `f.yaml:4: store.clickhouse.replica_name: must not contain quotes, backslashes or control characters: "a\\b"`},
		{"strategy with addr", doc(
			"store:",
			"  clickhouse:",
			"    addr: a:9000",
			"    conn_open_strategy: round_robin",
		), `f.yaml:4: store.clickhouse.conn_open_strategy: only applies with two or more addrs`},
		{"strategy with one of addrs", doc(
			"store:",
			"  clickhouse:",
			"    addrs: [a:9000]",
			"    conn_open_strategy: in_order",
		), `f.yaml:4: store.clickhouse.conn_open_strategy: only applies with two or more addrs`},
		{"strategy alone", doc(
			"store:",
			"  clickhouse:",
			"    conn_open_strategy: round_robin",
		), `f.yaml:3: store.clickhouse.conn_open_strategy: only applies with two or more addrs`},
		{"unknown strategy", doc(
			"store:",
			"  clickhouse:",
			"    addrs: [a:9000, b:9000]",
			"    conn_open_strategy: random",
		), `f.yaml:4: store.clickhouse.conn_open_strategy: must be "in_order" or "round_robin", got "random"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(tc.yaml, "f.yaml")
			if err == nil {
				t.Fatalf("no error, want %s", tc.want)
			}
			if err.Error() != tc.want {
				t.Errorf("error\n got %s\nwant %s", err, tc.want)
			}
		})
	}
}
