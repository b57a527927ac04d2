package main

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"reflect"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/flowmeter/flowmeter/collectors"
	"github.com/flowmeter/flowmeter/collectors/scheduler"
	"github.com/flowmeter/flowmeter/config"
	"github.com/flowmeter/flowmeter/metrics/exporter"
	"github.com/flowmeter/flowmeter/metrics/refresh"
	"github.com/flowmeter/flowmeter/reports/build"
	"github.com/flowmeter/flowmeter/reports/pages"
	"github.com/flowmeter/flowmeter/schema"
	"github.com/flowmeter/flowmeter/store"
	"github.com/flowmeter/flowmeter/store/spool"
)

func runRun(ctx context.Context, env *environment, args []string) error {
	fs := newFlags(env, "run", "run [--config FILE] [--listen ADDR] [--log-level LEVEL] [--log-format text|json]")
	configPath := fs.String("config", "flowmeter.yaml", "config file")
	listen := fs.String("listen", "", "address to listen on (default: server.listen of the config, "+config.DefaultListen+")")
	var logs logFlags
	logs.register(fs)
	if err := fs.parse(args); err != nil {
		return err
	}
	if err := logs.check("run"); err != nil {
		return err
	}
	return serve(ctx, env, *configPath, serveOptions{listen: *listen, logs: logs})
}

// serveOptions are what run and demo give serve besides the config file.
type serveOptions struct {
	// listen overrides server.listen when set.
	listen string
	logs   logFlags
	// open opens the store and migrates it; nil means openMigrated. Tests make the
	// store unavailable with it.
	open func(ctx context.Context, cfg *config.Config) (store.Store, error)
	// retryMin and retryMax bound the wait between attempts to connect to the
	// store; zero means 1 s, doubling up to 30 s.
	retryMin, retryMax time.Duration
	// announcePages prints the address of the report pages' index once serving.
	announcePages bool
}

// serve runs flowmeter as a daemon until ctx ends: the scheduler, the exporter,
// webhooks and health endpoints on one listener. A store that cannot be reached
// does not stop it: it serves health, spools webhooks and reports not ready while
// it connects again and again, then replays the spool, collects and derives.
func serve(ctx context.Context, env *environment, configPath string, opts serveOptions) error {
	cfg, sources, err := loadSources(configPath)
	if err != nil {
		return err
	}
	listen := cmp.Or(opts.listen, cfg.Server.Listen)
	creds, err := pages.ResolveCredentials(cfg.Server.Auth)
	if err != nil {
		return fmt.Errorf("run: %w", err)
	}
	setting := "server.listen"
	if opts.listen != "" {
		setting = "--listen"
	}
	if err := checkPagesGuarded(setting, listen, creds); err != nil {
		return fmt.Errorf("run: %w", err)
	}
	log, level := opts.logs.newLogger(env.stderr, cfg.Log, slog.LevelInfo)
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("run: %w", err)
	}
	// What was bound decides, not how it was written: "localhost" may resolve to
	// an address of the network.
	if err := checkPagesGuarded(setting, ln.Addr().String(), creds); err != nil {
		ln.Close()
		return fmt.Errorf("run: %w", err)
	}
	d := &daemon{
		configPath: configPath, log: log, level: level, logs: opts.logs,
		open: opts.open, retryMin: cmp.Or(opts.retryMin, time.Second), retryMax: cmp.Or(opts.retryMax, 30*time.Second),
		maxSpoolAge: cfg.Server.MaxSpoolAge.Duration, credentials: creds,
		exporter: exporter.New(), self: exporter.NewSelf(),
	}
	d.exporter.SetLimits(exporter.LimitsFor(cfg))
	if d.open == nil {
		d.open = openMigrated
	}
	sp, err := spool.New(cfg.ResolvePath(cfg.Server.SpoolDir), storeWriter{d: d, derive: true}, log)
	if err != nil {
		ln.Close()
		return fmt.Errorf("run: spool: %w", err)
	}
	d.spool = sp
	d.spoolBacklog = sp.Backlog
	backlog := sp.Stats() // what an earlier process left, before any replay
	// The exporter's cache is not in it: exporter.Handler serves it, encoded once
	// per refresh, before what the registry gathers.
	d.registry = exporter.NewRegistry(nil, d.self)
	d.registry.MustRegister(sp, d.readyGauge())
	d.configStamp = stamp(configPath)

	// Replay what an earlier process left in the spool, once the store is there.
	spoolCtx, stopSpool := context.WithCancel(context.WithoutCancel(ctx))
	spoolDone := make(chan struct{})
	go func() { defer close(spoolDone); sp.Run(spoolCtx) }()

	d.start(ctx, cfg, sources)
	// The first attempt is waited for, so that with the store there flowmeter starts
	// connected and migrated, as /readyz then says.
	connectCtx, stopConnect := context.WithCancel(ctx)
	connectDone, tried := make(chan struct{}), make(chan struct{})
	go func() { defer close(connectDone); d.connect(connectCtx, cfg, sources, tried) }()
	<-tried

	srv := &http.Server{
		Handler:           d.routes(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	hooks := d.webhookPaths()
	exposed := append([]string{"/", "/reports/", "/metrics", "/healthz", "/readyz"}, hooks...)
	attrs := []any{"listen", ln.Addr().String(), "store", describeStore(cfg), "sources", len(sources),
		"webhooks", strings.Join(hooks, ","), "spool_pending", backlog.Pending, "spool_dead", backlog.Dead}
	if !backlog.OldestPending.IsZero() {
		attrs = append(attrs, "spool_oldest_pending", backlog.OldestPending.UTC().Format(time.RFC3339))
	}
	log.Info("flowmeter running", attrs...)
	if tcp, ok := ln.Addr().(*net.TCPAddr); ok && !tcp.IP.IsLoopback() {
		log.Warn("listening beyond this host: anyone who can reach it reads /metrics (every team's and service's figures) and the health endpoints, "+
			"and can post to the webhooks, which check their token or signature; the report pages ask for server.auth's credentials, "+
			"which cross the network in clear text: listen on 127.0.0.1 behind a TLS proxy, or firewall the port",
			"listen", ln.Addr().String(), "exposed", strings.Join(exposed, ","))
	}
	fmt.Fprintf(env.stdout, "flowmeter is serving %s on http://%s\n", listPaths(exposed), ln.Addr())
	if opts.announcePages {
		fmt.Fprintf(env.stdout, "Reports: http://%s/\n", ln.Addr())
	}

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	watch := time.NewTicker(2 * time.Second)
	defer watch.Stop()
	var serveErr error
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case serveErr = <-served:
			break loop
		case <-hup:
			d.reload(ctx)
		case <-watch.C:
			if s := stamp(configPath); s != d.configStamp {
				d.configStamp = s
				d.reload(ctx)
			}
		}
	}
	// Shut down: stop taking requests, stop connecting, let collections that are
	// writing finish or abandon them, write what the spool holds if the store is
	// there.
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	srv.Shutdown(shutdownCtx)
	stopConnect()
	<-connectDone
	d.stop()
	stopSpool()
	<-spoolDone
	if err := sp.Flush(shutdownCtx); err != nil {
		log.Warn("spooled events stay on disk for the next start", "pending", sp.Pending(), "err", err)
	}
	if st, _ := d.currentStore(); st != nil {
		st.Close()
	}
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return fmt.Errorf("run: %w", serveErr)
	}
	return nil
}

// checkPagesGuarded refuses to serve the report pages, which name people, beyond
// this host without credentials. setting names where listen came from.
func checkPagesGuarded(setting, listen string, creds pages.Credentials) error {
	if creds.Configured() || loopback(listen) {
		return nil
	}
	return fmt.Errorf("%s %s is not a loopback address and the report pages name people: "+
		"configure server.auth (bearer_token_env or basic_user with basic_password_env) or listen on 127.0.0.1", setting, listen)
}

// loopback says whether a listen address takes connections from this host only:
// a loopback IP or localhost. An empty host (":9420") is every interface.
func loopback(listen string) bool {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// daemon is the running state of `flowmeter run`, replaced piecewise on reload.
type daemon struct {
	configPath  string
	configStamp string
	log         *slog.Logger
	level       *slog.LevelVar
	logs        logFlags
	open        func(ctx context.Context, cfg *config.Config) (store.Store, error)
	// retryMin and retryMax bound the wait between attempts to connect to the store.
	retryMin, retryMax time.Duration
	maxSpoolAge        time.Duration
	// credentials guard the report pages; resolved at start, kept until the next.
	credentials pages.Credentials
	spool       *spool.Spool
	// spoolBacklog reads the spool's backlog; a func so that tests can give any.
	spoolBacklog func() (pending int, oldest time.Time)
	exporter     *exporter.Exporter
	self         *exporter.Self
	registry     *prometheus.Registry

	st atomic.Pointer[storeState]
	// derivedAll is set once a refresh derived every partition.
	derivedAll atomic.Bool
	// written is what collections and webhooks wrote since the last refresh began,
	// which it derives whatever the records' age.
	writtenMu sync.Mutex
	written   refresh.Written

	mu        sync.Mutex
	cfg       *config.Config
	sched     *scheduler.Scheduler // nil between stop and start
	stopSched context.CancelFunc   // nil while the scheduler is not running
	schedDone chan struct{}
	webhooks  atomic.Pointer[http.ServeMux]
	hooks     []string // the paths webhooks mounts, sorted
}

// storeState is the store once it is connected and migrated, or why it is not yet.
type storeState struct {
	st  store.Store
	err error
}

// errNotConnected fails writes and derivations until the store is connected, so
// that the spool keeps what webhooks send meanwhile.
var errNotConnected = errors.New("store not connected")

// currentStore is the store once connected, or errNotConnected.
func (d *daemon) currentStore() (store.Store, error) {
	if s := d.st.Load(); s != nil && s.st != nil {
		return s.st, nil
	}
	return nil, errNotConnected
}

// connect opens and migrates the store, retrying with backoff until it succeeds or
// ctx ends; then it replays the spool and starts collecting and deriving. It closes
// tried after the first attempt, so that serving waits for no retry or replay.
func (d *daemon) connect(ctx context.Context, cfg *config.Config, sources []collectors.Instance, tried chan<- struct{}) {
	first := func() {
		if tried != nil {
			close(tried)
			tried = nil
		}
	}
	defer first()
	wait := d.retryMin
	for attempt := 1; ; attempt++ {
		st, err := d.open(ctx, cfg)
		if err == nil {
			d.st.Store(&storeState{st: st})
			derived := false
			if attempt == 1 {
				// With the store there at start, /metrics is filled before it is served.
				if err := d.derive(ctx, cfg, sources); err != nil {
					d.log.Error("first derivation failed; /metrics starts empty", "err", err)
				} else {
					derived = true
				}
			} else {
				d.log.Info("store connected", "store", describeStore(cfg), "attempts", attempt)
			}
			first()
			// Replay now rather than at the spool's next retry, up to 30 s away; a
			// failure is the spool's to retry.
			if err := d.spool.Flush(ctx); err != nil {
				d.log.Debug("spool not replayed yet; it retries", "err", err)
			}
			d.resume(ctx, !derived)
			return
		}
		if ctx.Err() != nil {
			return
		}
		d.st.Store(&storeState{err: err})
		d.log.Warn("cannot connect to the store; serving health and spooling webhooks until it is back",
			"store", describeStore(cfg), "attempt", attempt, "retry_in", wait, "err", oneLine(err.Error()))
		first()
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		wait = min(2*wait, d.retryMax)
	}
}

// stamp identifies a version of the config file, to notice edits.
func stamp(path string) string {
	info, err := os.Stat(path)
	if err != nil {
		return ""
	}
	return fmt.Sprint(info.ModTime().UnixNano(), info.Size())
}

// start builds the scheduler of a config and mounts its webhooks. The scheduler
// runs at once when the store is connected, else when it is.
func (d *daemon) start(ctx context.Context, cfg *config.Config, sources []collectors.Instance) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.cfg = cfg
	sched := scheduler.New(sources, storeWriter{d: d}, scheduler.Options{
		Derive:   func(ctx context.Context) error { return d.derive(ctx, cfg, sources) },
		Observer: d.self, Logger: d.log,
	})
	byName := map[string]collectors.Source{}
	for _, s := range sources {
		byName[s.Name] = s.Source
	}
	mux := http.NewServeMux()
	var hooks []string
	renv := collectors.ReceiverEnv{
		// The spool asks for a derivation once the store has taken a batch.
		Writer:  d.spool,
		Source:  func(name string) (collectors.Source, bool) { s, ok := byName[name]; return s, ok },
		Collect: sched.Trigger,
		Logger:  d.log,
		Now:     time.Now,
	}
	for _, s := range sources {
		if r, ok := s.Source.(collectors.Receiver); ok {
			for path, h := range r.Routes(renv) {
				mux.Handle(path, h)
				hooks = append(hooks, path)
			}
		}
	}
	sort.Strings(hooks)
	d.webhooks.Store(mux)
	d.hooks = hooks
	d.sched = sched
	if _, err := d.currentStore(); err == nil {
		d.runScheduler(ctx)
	}
}

// resume runs the scheduler once the store is connected and, when derive is set,
// asks it for the derivation that fills /metrics.
func (d *daemon) resume(ctx context.Context, derive bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.sched == nil {
		return // a reload is under way; its start runs the new scheduler and derives
	}
	if d.stopSched == nil {
		d.runScheduler(ctx)
	}
	if derive {
		d.sched.RequestDerive()
	}
}

// runScheduler runs d.sched until stop; d.mu is held.
func (d *daemon) runScheduler(ctx context.Context) {
	schedCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	sched, done := d.sched, make(chan struct{})
	d.stopSched, d.schedDone = stop, done
	go func() { defer close(done); sched.Run(schedCtx) }()
}

// requestDerive asks the running config's scheduler for a derivation.
func (d *daemon) requestDerive() {
	d.mu.Lock()
	sched := d.sched
	d.mu.Unlock()
	if sched != nil {
		sched.RequestDerive()
	}
}

// webhookPaths lists the webhook paths the running config serves.
func (d *daemon) webhookPaths() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.hooks
}

// listPaths joins paths as a sentence does: "/a, /b and /c".
func listPaths(paths []string) string {
	if len(paths) < 2 {
		return strings.Join(paths, "")
	}
	return strings.Join(paths[:len(paths)-1], ", ") + " and " + paths[len(paths)-1]
}

// stop stops the scheduler, waiting for it.
func (d *daemon) stop() {
	d.mu.Lock()
	stop, done := d.stopSched, d.schedDone
	d.sched, d.stopSched, d.schedDone = nil, nil, nil
	d.mu.Unlock()
	if stop != nil {
		stop()
		<-done
	}
}

// reload applies an edited config; a config that does not load is logged and the
// running one kept.
func (d *daemon) reload(ctx context.Context) {
	cfg, sources, err := loadSources(d.configPath)
	if err != nil {
		d.log.Error("config reload failed; keeping the running config", "err", oneLine(err.Error()))
		return
	}
	d.mu.Lock()
	old := d.cfg
	d.mu.Unlock()
	if !reflect.DeepEqual(old.Store, cfg.Store) || old.Server != cfg.Server || old.Log.Format != cfg.Log.Format {
		d.log.Warn("store, server and log.format settings take effect at the next start; the rest is applied now")
	}
	d.level.Set(d.logs.levelOf(cfg.Log, slog.LevelInfo))
	d.exporter.SetLimits(exporter.LimitsFor(cfg)) // the teams may name other services
	d.stop()
	d.start(ctx, cfg, sources)
	d.requestDerive() // teams and rules may have changed
	d.log.Info("config reloaded", "sources", len(sources), "teams", len(cfg.Teams), "webhooks", strings.Join(d.webhookPaths(), ","))
}

// derive refreshes the facts and then the exporter's cache.
func (d *daemon) derive(ctx context.Context, cfg *config.Config, sources []collectors.Instance) error {
	st, err := d.currentStore()
	if err != nil {
		return err
	}
	// The first refresh after a start derives every partition: records written
	// while no daemon ran may be older than the last refresh's mark.
	all := !d.derivedAll.Load()
	d.writtenMu.Lock()
	written := d.written
	d.written = refresh.Written{}
	d.writtenMu.Unlock()
	if _, err := refreshFacts(ctx, cfg, sources, st, refresh.Options{AllPartitions: all, Written: written, Logger: d.log}); err != nil {
		d.writtenMu.Lock()
		d.written.Merge(written) // the next refresh derives it
		d.writtenMu.Unlock()
		return err
	}
	d.derivedAll.Store(true)
	// The refresh holds a batch of partitions at a time; the exporter reads every
	// fact back from the store.
	facts, err := refresh.StoredFacts(ctx, st)
	if err != nil {
		return fmt.Errorf("derive: reading the facts back: %w", err)
	}
	return d.exporter.Update(ctx, exporter.Facts{DORA: facts.DORA, FlowItems: facts.FlowItems, Toil: facts.Toil},
		cfg.TeamNames(), cfg.Rules.DORATable, time.Now())
}

// readiness says why the daemon should not be sent traffic, in words fit for
// anyone, with the error behind it for those on this host; "" means ready.
func (d *daemon) readiness(ctx context.Context) (reason string, detail error) {
	s := d.st.Load()
	switch {
	case s == nil:
		return "store not connected", nil
	case s.st == nil:
		return "store not connected", s.err
	}
	if err := s.st.Ping(ctx); err != nil {
		return "store not answering", err
	}
	if pending, oldest := d.spoolBacklog(); pending > 0 && !oldest.IsZero() {
		if age := time.Since(oldest); age > d.maxSpoolAge {
			return fmt.Sprintf("%d spooled batches, the oldest waiting %s for the store (server.max_spool_age %s)",
				pending, age.Round(time.Second), d.maxSpoolAge), nil
		}
	}
	return "", nil
}

// readyGauge is /readyz as a metric, so that an alert needs no probe of its own.
func (d *daemon) readyGauge() prometheus.GaugeFunc {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "flowmeter_ready",
		Help: `1 when /readyz answers ready (the store connected and answering, no spooled batch older than server.max_spool_age), else 0.`,
	}, func() float64 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if reason, _ := d.readiness(ctx); reason != "" {
			return 0
		}
		return 1
	})
}

// fromLoopback says whether a request came from this host, which may see the store's
// address and error texts that /readyz keeps from everyone else.
func fromLoopback(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// routes are the listener's handlers.
func (d *daemon) routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", exporter.Handler(d.exporter, d.registry))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		reason, detail := d.readiness(ctx)
		if reason == "" {
			fmt.Fprintln(w, "ready")
			return
		}
		msg := "not ready: " + reason
		if detail != nil && fromLoopback(r) {
			msg += ": " + oneLine(detail.Error())
		}
		http.Error(w, msg, http.StatusServiceUnavailable)
	})
	mux.HandleFunc("/webhooks/", func(w http.ResponseWriter, r *http.Request) {
		d.webhooks.Load().ServeHTTP(w, r)
	})
	reports := &pages.Handler{Open: d.reports, Credentials: d.credentials}
	mux.Handle("/{$}", reports)
	mux.Handle("/reports/", reports)
	return mux
}

// reports are the reports of the running config over the store's facts, once the
// store is connected.
func (d *daemon) reports(now time.Time) (pages.Reports, error) {
	st, err := d.currentStore()
	if err != nil {
		return nil, err
	}
	d.mu.Lock()
	cfg := d.cfg
	d.mu.Unlock()
	return &build.Builder{Config: cfg, Store: st, Now: now}, nil
}

// storeWriter writes to the store once it is connected and fails until then, so
// that the spool keeps what webhooks send meanwhile. With derive set (the spool's
// writer) it asks for a derivation after each write, so that batches written
// directly or replayed from the spool reach the facts and /metrics.
type storeWriter struct {
	d      *daemon
	derive bool
}

func (w storeWriter) Write(ctx context.Context, b *schema.Batch) error {
	st, err := w.d.currentStore()
	if err != nil {
		return err
	}
	if err := st.Write(ctx, b); err != nil {
		return err
	}
	w.d.writtenMu.Lock()
	w.d.written.Add(b)
	w.d.writtenMu.Unlock()
	if w.derive {
		w.d.requestDerive()
	}
	return nil
}

func (w storeWriter) Cursor(ctx context.Context, source, stream string) (schema.Cursor, error) {
	st, err := w.d.currentStore()
	if err != nil {
		return schema.Cursor{}, err
	}
	return st.Cursor(ctx, source, stream)
}
