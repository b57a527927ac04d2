package clickhouse_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/flowmeter/flowmeter/schema"
	"github.com/flowmeter/flowmeter/store/clickhouse"
	"github.com/flowmeter/flowmeter/store/clickhouse/clickhousetest"
)

// The ingest benchmark writes the same synthetic pull requests through the store and
// through clickhouse-client (TabSeparated on its standard input), on the same server
// in the same run, and reports both rates, their ratio and the store's memory:
//
//	go test ./store/clickhouse -run '^$' -bench Ingest -benchtime 1x -timeout 30m
//
// FLOWMETER_BENCH_INGEST_ROWS=100000,300000,1000000 (the default) picks the sizes.
// Records are generated in batches of FLOWMETER_BENCH_INGEST_BATCH rows (default
// 50,000), each passed to one Write as a collector would, so neither path ever holds
// all rows.
func BenchmarkIngest(b *testing.B) {
	sizes := envInts(b, "FLOWMETER_BENCH_INGEST_ROWS", []int{100_000, 300_000, 1_000_000})
	batch := envInts(b, "FLOWMETER_BENCH_INGEST_BATCH", []int{50_000})[0]
	for _, n := range sizes {
		b.Run(fmt.Sprintf("rows=%d", n), func(b *testing.B) {
			var st, cl ingestResult
			for range b.N {
				st = ingestStore(b, n, batch)
				cl = ingestClient(b, n, batch)
			}
			b.ReportMetric(0, "ns/op") // the rates below say it per row
			b.ReportMetric(st.rate(), "store_rows/s")
			if cl.rows > 0 {
				b.ReportMetric(cl.rate(), "client_rows/s")
				b.ReportMetric(st.rate()/cl.rate(), "store/client")
			}
			b.ReportMetric(generateRate(n, batch), "generate_rows/s")
			b.ReportMetric(float64(st.peakHeap)/(1<<20), "store_peak_heap_MiB")
			b.ReportMetric(float64(st.allocs)/float64(n), "store_alloc_B/row")
		})
	}
}

// generateRate is how fast the benchmark makes rows on its own, which both paths
// include: the part of their time that is not ClickHouse's.
func generateRate(n, batch int) float64 {
	prs := make([]schema.PullRequest, 0, batch)
	start := time.Now()
	for i := 0; i < n; i += batch {
		prs = generatePRs(prs[:0], i, min(batch, n-i))
	}
	return float64(n) / time.Since(start).Seconds()
}

// envInts reads a comma-separated list of positive integers from the environment.
func envInts(b *testing.B, name string, def []int) []int {
	env := os.Getenv(name)
	if env == "" {
		return def
	}
	var out []int
	for _, f := range strings.Split(env, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			b.Fatalf("%s: %q is not a positive number", name, f)
		}
		out = append(out, n)
	}
	return out
}

// TestIngestPathsAgree runs both benchmark paths on a few rows and checks that they
// store identical data, so the benchmark compares like with like.
func TestIngestPathsAgree(t *testing.T) {
	const n = 3_000
	st := ingestStore(t, n, 1_000)
	cl := ingestClient(t, n, 1_000)
	if cl.rows == 0 {
		t.Skip("clickhouse-client not on PATH: only the store path ran")
	}
	if st.checksum != cl.checksum {
		t.Fatalf("store path stored checksum %s, clickhouse-client path %s", st.checksum, cl.checksum)
	}
}

type ingestResult struct {
	rows     int
	elapsed  time.Duration
	peakHeap uint64 // highest live+unswept heap seen while writing
	allocs   uint64 // bytes allocated while writing
	checksum string
}

func (r ingestResult) rate() float64 { return float64(r.rows) / r.elapsed.Seconds() }

// ingestStore writes n generated pull requests through the store.
func ingestStore(tb testing.TB, n, batch int) ingestResult {
	tb.Helper()
	o := clickhousetest.Open(tb)
	ctx := context.Background()
	s := open(tb, o)
	defer s.Close()
	if err := s.Migrate(ctx); err != nil {
		tb.Fatal(err)
	}
	prs := make([]schema.PullRequest, 0, batch)
	runtime.GC()
	mem := startHeapSampler()
	start := time.Now()
	for i := 0; i < n; i += batch {
		prs = generatePRs(prs[:0], i, min(batch, n-i))
		if err := s.Write(ctx, &schema.Batch{PullRequests: prs}); err != nil {
			tb.Fatal(err)
		}
	}
	r := ingestResult{rows: n, elapsed: time.Since(start)}
	r.peakHeap, r.allocs = mem.stop()
	r.checksum = finish(tb, o, n)
	return r
}

// ingestClient pipes the same rows as TabSeparated text to clickhouse-client and
// times the whole thing, generating and formatting included.
func ingestClient(tb testing.TB, n, batch int) ingestResult {
	tb.Helper()
	bin, err := exec.LookPath("clickhouse-client")
	if err != nil {
		tb.Log("clickhouse-client not on PATH: skipping its half")
		return ingestResult{}
	}
	o := clickhousetest.Open(tb)
	s := open(tb, o)
	err = s.Migrate(context.Background())
	s.Close()
	if err != nil {
		tb.Fatal(err)
	}
	host, port, err := net.SplitHostPort(o.Addr)
	if err != nil {
		tb.Fatal(err)
	}
	query := "INSERT INTO `" + o.Database + "`.pull_requests (" +
		strings.Join(schema.PullRequests.ColumnNames(), ", ") + ") FORMAT TabSeparated"
	cmd := exec.Command(bin, "--host", host, "--port", port, "--query", query)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	start := time.Now()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	w := bufio.NewWriterSize(stdin, 1<<20)
	prs := make([]schema.PullRequest, 0, batch)
	var line []byte
	for i := 0; i < n; i += batch {
		prs = generatePRs(prs[:0], i, min(batch, n-i))
		for j := range prs {
			line = appendTSV(line[:0], &prs[j])
			if _, err := w.Write(line); err != nil {
				tb.Fatalf("writing to clickhouse-client: %v; %s", err, stderr.String())
			}
		}
	}
	if err := w.Flush(); err != nil {
		tb.Fatalf("writing to clickhouse-client: %v; %s", err, stderr.String())
	}
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		tb.Fatalf("clickhouse-client: %v; %s", err, stderr.String())
	}
	r := ingestResult{rows: n, elapsed: time.Since(start)}
	r.checksum = finish(tb, o, n)
	return r
}

// finish checks the row count, fingerprints what was stored and drops the database
// at once, so its background merges do not slow down the next run.
func finish(tb testing.TB, o clickhouse.Options, n int) string {
	tb.Helper()
	sum := checksum(tb, o, n)
	if err := clickhousetest.Exec(o.Addr, "DROP DATABASE IF EXISTS `"+o.Database+"`"); err != nil {
		tb.Fatal(err)
	}
	return sum
}

// checksum counts and hashes the stored pull requests through the server at o.Addr,
// and fails tb unless there are n.
func checksum(tb testing.TB, o clickhouse.Options, n int) string {
	tb.Helper()
	var parts []string
	for _, c := range schema.PullRequests.Columns {
		switch c.Name {
		case "labels":
			parts = append(parts, "arrayStringConcat(labels, ',')")
		default:
			// Times in UTC, so servers in different time zones agree.
			tz := ""
			var zero schema.PullRequest
			if _, ok := c.Field(&zero).(*time.Time); ok {
				tz = ", 'UTC'"
			}
			parts = append(parts, "ifNull(toString("+c.Name+tz+"), 'NULL')")
		}
	}
	parts = append(parts, "toString(updated_at, 'UTC')", "toString(version)")
	var (
		count uint64
		sum   uint64
	)
	q := "SELECT count(), sum(cityHash64(concat(" + strings.Join(parts, ", '|', ") + "))) FROM `" +
		o.Database + "`.pull_requests FINAL"
	if err := query(tb, o, q).Scan(&count, &sum); err != nil {
		tb.Fatal(err)
	}
	if count != uint64(n) {
		tb.Fatalf("stored %d rows, want %d", count, n)
	}
	return fmt.Sprintf("%d/%x", count, sum)
}

// generatePRs appends count realistic pull requests, numbered from first, to dst:
// 40 repositories, ~1,400 PRs a day over two years, most merged after review, some
// drafts, some still open, titles with quotes and non-ASCII text.
func generatePRs(dst []schema.PullRequest, first, count int) []schema.PullRequest {
	base := time.Date(2024, 1, 1, 8, 0, 0, 0, time.UTC)
	for i := first; i < first+count; i++ {
		repo := genRepos[i%len(genRepos)]
		num := int64(i/len(genRepos) + 1)
		created := base.Add(time.Duration(i) * 61 * time.Second)
		author := genPeople[(i*7)%len(genPeople)]
		pr := schema.PullRequest{
			Source:        "github",
			ID:            repo + "#" + strconv.FormatInt(num, 10),
			Repo:          repo,
			Number:        num,
			Author:        author,
			Title:         genTitles[(i*13)%len(genTitles)] + " (" + strconv.Itoa(i%997) + ")",
			Labels:        genLabels[i%len(genLabels)],
			BaseBranch:    "main",
			Draft:         i%23 == 0,
			CreatedAt:     created,
			FirstCommitAt: created.Add(-time.Duration(i%50+1) * 37 * time.Minute),
			CommitCount:   int64(i%9 + 1),
			Additions:     int64((i * 37) % 1800),
			Deletions:     int64((i * 11) % 400),
			URL:           "https://github.com/" + repo + "/pull/" + strconv.FormatInt(num, 10),
			UpdatedAt:     created.Add(time.Duration(i%5000)*time.Minute + time.Duration(i%1000)*time.Millisecond),
		}
		if !pr.Draft {
			pr.ReadyAt = created
		}
		if i%10 != 0 { // reviewed
			pr.FirstReviewAt = created.Add(time.Duration(i%300+5) * time.Minute)
			pr.FirstReviewer = genPeople[(i*7+3)%len(genPeople)]
			pr.FirstApprovalAt = pr.FirstReviewAt.Add(time.Duration(i%120) * time.Minute)
		}
		switch {
		case i%10 < 8: // merged
			pr.MergedAt = created.Add(time.Duration(i%2000+30) * time.Minute)
			pr.ClosedAt = pr.MergedAt
			pr.MergeCommitSHA = fmt.Sprintf("%016x%016x%08x", uint64(i)*0x9e3779b97f4a7c15, uint64(i)^0xdeadbeefcafef00d, uint32(i))
		case i%10 == 8: // closed unmerged
			pr.ClosedAt = created.Add(time.Duration(i%4000+60) * time.Minute)
		}
		dst = append(dst, pr)
	}
	return dst
}

var (
	genRepos = func() []string {
		var out []string
		for i := range 40 {
			out = append(out, fmt.Sprintf("acme/service-%02d", i))
		}
		return out
	}()
	genPeople = []string{"ana", "bo", "cy", "dana", "eli", "fatima", "gus", "hiro", "ines", "jo",
		"kai", "lena", "mo", "noor", "oli", "pia", "quinn", "ravi", "sara", "tomás"}
	genTitles = []string{
		"Add retries to the payment client", "Fix flaky test in scheduler", "Bump golang.org/x/net",
		`Handle "429 Too Many Requests" from the user's API`, "Refactor config loading",
		"Remove dead feature flag", "Speed up report rendering", "Document the deploy runbook",
		"Migrate dashboards to the new datasource", "Ünïcode-safe slugs for team names",
	}
	genLabels = [][]string{nil, {"bug"}, {"dependencies"}, {"enhancement", "needs review"},
		nil, {"toil"}, {"bug", "customer-facing"}, nil}
)

// appendTSV formats one pull request as a TabSeparated line in ColumnNames order.
// Times are Unix timestamps, which ClickHouse reads whatever the server's zone.
func appendTSV(b []byte, pr *schema.PullRequest) []byte {
	for i, c := range schema.PullRequests.Columns {
		if i > 0 {
			b = append(b, '\t')
		}
		switch p := c.Field(pr).(type) {
		case *string:
			b = appendEscaped(b, *p)
		case *int64:
			b = strconv.AppendInt(b, *p, 10)
		case *bool:
			if *p {
				b = append(b, '1')
			} else {
				b = append(b, '0')
			}
		case *time.Time:
			switch {
			case !p.IsZero():
				b = strconv.AppendInt(b, p.Unix(), 10)
			case c.Nullable:
				b = append(b, `\N`...)
			default:
				b = append(b, '0')
			}
		case *[]string:
			b = append(b, '[')
			for j, s := range *p {
				if j > 0 {
					b = append(b, ',')
				}
				b = append(b, '\'')
				b = append(b, quotedEscaper.Replace(s)...)
				b = append(b, '\'')
			}
			b = append(b, ']')
		}
	}
	b = append(b, '\t')
	b = strconv.AppendInt(b, pr.UpdatedAt.Unix(), 10)
	b = append(b, '\t')
	b = strconv.AppendInt(b, schema.Version(pr.UpdatedAt), 10)
	return append(b, '\n')
}

var (
	tsvEscaper    = strings.NewReplacer(`\`, `\\`, "\t", `\t`, "\n", `\n`, "\r", `\r`)
	quotedEscaper = strings.NewReplacer(`\`, `\\`, "'", `\'`, "\t", `\t`, "\n", `\n`, "\r", `\r`)
)

func appendEscaped(b []byte, s string) []byte {
	if strings.ContainsAny(s, "\\\t\n\r") {
		s = tsvEscaper.Replace(s)
	}
	return append(b, s...)
}

// heapSampler records the highest heap size seen while it runs.
type heapSampler struct {
	done   chan struct{}
	wg     sync.WaitGroup
	peak   uint64
	allocs uint64
}

func readMetric(name string) uint64 {
	s := []metrics.Sample{{Name: name}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

const (
	heapObjects = "/memory/classes/heap/objects:bytes"
	heapAllocs  = "/gc/heap/allocs:bytes"
)

func startHeapSampler() *heapSampler {
	h := &heapSampler{done: make(chan struct{}), allocs: readMetric(heapAllocs)}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			h.peak = max(h.peak, readMetric(heapObjects))
			select {
			case <-h.done:
				return
			case <-tick.C:
			}
		}
	}()
	return h
}

// stop returns the peak heap and the bytes allocated since the sampler started.
func (h *heapSampler) stop() (peak, allocs uint64) {
	close(h.done)
	h.wg.Wait()
	return max(h.peak, readMetric(heapObjects)), readMetric(heapAllocs) - h.allocs
}
