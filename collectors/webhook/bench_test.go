package webhook_test

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/flowmeter/flowmeter/collectors"
	"github.com/flowmeter/flowmeter/schema"
	"github.com/flowmeter/flowmeter/store"
	"github.com/flowmeter/flowmeter/store/spool"
)

// BenchmarkWebhookThroughput measures deploy events accepted per second through the
// HTTP handler on a loopback server, each written durably before its 202: into
// SQLite (through the spool, which passes writes through while the store works),
// and, with the store down, into the spool (a file, fsynced with its directory, per
// event). "discard" writes nowhere: it is the cost of HTTP, authentication and
// decoding alone. clients is the number of concurrent senders with keep-alive
// connections.
//
//	go test ./collectors/webhook -run '^$' -bench WebhookThroughput -benchtime 5s
func BenchmarkWebhookThroughput(b *testing.B) {
	for _, target := range []string{"discard", "sqlite", "spool-store-down"} {
		for _, clients := range []int{1, 8} {
			b.Run(fmt.Sprintf("%s/clients=%d", target, clients), func(b *testing.B) {
				st := &flakyStore{Store: openSQLite(b)}
				st.down.Store(target != "sqlite")
				sp, err := spool.New(filepath.Join(b.TempDir(), "spool"), st, nil)
				if err != nil {
					b.Fatal(err)
				}
				var w collectors.Writer = sp
				if target == "discard" {
					w = discard{}
				}
				srv := server(b, w, nil)
				client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
				bodies := make([]string, b.N)
				for i := range bodies {
					bodies[i] = deployEvent(i)
				}
				var next atomic.Int64
				var wg sync.WaitGroup
				b.ResetTimer()
				for range clients {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for {
							i := int(next.Add(1) - 1)
							if i >= b.N {
								return
							}
							code, reply, err := post(client, srv.URL+"/webhooks/deploy", bodies[i], bearer(testToken))
							if err != nil || code != http.StatusAccepted {
								b.Errorf("event %d: %d %s %v", i, code, reply, err)
								return
							}
						}
					}()
				}
				wg.Wait()
				b.StopTimer()
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
				// Check that every event is where it should be.
				switch {
				case target == "discard":
				case target == "sqlite":
					n, err := st.Store.Count(context.Background(), schema.KindDeployment, store.Filter{})
					if err != nil || n != int64(b.N) {
						b.Fatalf("store holds %d deployments (%v), want %d", n, err, b.N)
					}
				default:
					if got := sp.Pending(); got != b.N {
						b.Fatalf("spool holds %d batches, want %d", got, b.N)
					}
				}
			})
		}
	}
}

// discard is a writer that keeps nothing.
type discard struct{}

func (discard) Write(context.Context, *schema.Batch) error { return nil }

func (discard) Cursor(context.Context, string, string) (schema.Cursor, error) {
	return schema.Cursor{}, store.ErrNotFound
}
