package main

import (
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
	"github.com/flowmeter/flowmeter/schema"
	"github.com/flowmeter/flowmeter/store"
	"github.com/flowmeter/flowmeter/store/spool"
)

func runRun(ctx context.Context, env *environment, args []string) error {
	fs := newFlags(env, "run", "run [--config FILE] [--listen ADDR]")
	configPath := fs.String("config", "flowmeter.yaml", "config file")
	listen := fs.String("listen", "", "address to listen on (default: server.listen of the config, :9420)")
	if err := fs.parse(args); err != nil {
		return err
	}
	return serve(ctx, env, *configPath, *listen)
}

// serve runs flowmeter as a daemon until ctx ends: the scheduler, the exporter,
// webhooks and health endpoints on one listener.
func serve(ctx context.Context, env *environment, configPath, listen string) error {
	cfg, sources, err := loadSources(configPath)
	if err != nil {
		return err
	}
	if listen == "" {
		listen = cfg.Server.Listen
	}
	log := slog.New(slog.NewTextHandler(env.stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	st, err := openMigrated(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("run: %w", err)
	}
	sp, err := spool.New(cfg.ResolvePath(cfg.Server.SpoolDir), st, log)
	if err != nil {
		ln.Close()
		return fmt.Errorf("run: spool: %w", err)
	}
	d := &daemon{
		configPath: configPath, listen: listen, log: log, store: st, spool: sp,
		exporter: exporter.New(), self: exporter.NewSelf(),
	}
	d.registry = exporter.NewRegistry(d.exporter, d.self)
	d.configStamp = stamp(configPath)

	// Replay what an earlier process left in the spool while the rest starts.
	spoolCtx, stopSpool := context.WithCancel(context.WithoutCancel(ctx))
	spoolDone := make(chan struct{})
	go func() { defer close(spoolDone); sp.Run(spoolCtx) }()

	if err := d.derive(ctx, cfg, sources); err != nil {
		log.Error("first derivation failed; /metrics starts empty", "err", err)
	}
	d.start(ctx, cfg, sources)

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
	log.Info("flowmeter running", "listen", ln.Addr().String(), "store", describeStore(cfg), "sources", len(sources), "webhooks", strings.Join(hooks, ","))
	fmt.Fprintf(env.stdout, "flowmeter is serving %s on http://%s\n", listPaths(append([]string{"/metrics", "/healthz", "/readyz"}, hooks...)), ln.Addr())

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
	// Shut down: stop taking requests, let collections finish or abandon them, write
	// what the spool holds if the store is there.
	log.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	srv.Shutdown(shutdownCtx)
	d.stop()
	stopSpool()
	<-spoolDone
	if err := sp.Flush(shutdownCtx); err != nil {
		log.Warn("spooled events stay on disk for the next start", "pending", sp.Pending(), "err", err)
	}
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return fmt.Errorf("run: %w", serveErr)
	}
	return nil
}

// daemon is the running state of `flowmeter run`, replaced piecewise on reload.
type daemon struct {
	configPath, listen string
	configStamp        string
	log                *slog.Logger
	store              store.Store
	spool              *spool.Spool
	exporter           *exporter.Exporter
	self               *exporter.Self
	registry           *prometheus.Registry

	mu        sync.Mutex
	cfg       *config.Config
	sources   []collectors.Instance
	sched     *scheduler.Scheduler
	stopSched context.CancelFunc
	schedDone chan struct{}
	webhooks  atomic.Pointer[http.ServeMux]
	hooks     []string // the paths webhooks mounts, sorted
}

// stamp identifies a version of the config file, to notice edits.
func stamp(path string) string {
	info, err := os.Stat(path)
	if err != nil {
		return ""
	}
	return fmt.Sprint(info.ModTime().UnixNano(), info.Size())
}

// start runs the scheduler and mounts the webhooks of a config.
func (d *daemon) start(ctx context.Context, cfg *config.Config, sources []collectors.Instance) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.cfg, d.sources = cfg, sources
	var sched *scheduler.Scheduler
	sched = scheduler.New(sources, d.store, scheduler.Options{
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
		Writer:  &derivingWriter{Writer: d.spool, then: sched.RequestDerive},
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
	schedCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	d.sched, d.stopSched, d.schedDone = sched, stop, make(chan struct{})
	go func(done chan struct{}) { defer close(done); sched.Run(schedCtx) }(d.schedDone)
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
	if !reflect.DeepEqual(old.Store, cfg.Store) || old.Server != cfg.Server {
		d.log.Warn("store and server settings take effect at the next start; the rest is applied now")
	}
	d.stop()
	d.start(ctx, cfg, sources)
	d.sched.RequestDerive() // teams and rules may have changed
	d.log.Info("config reloaded", "sources", len(sources), "teams", len(cfg.Teams), "webhooks", strings.Join(d.webhookPaths(), ","))
}

// derive refreshes the facts and then the exporter's cache.
func (d *daemon) derive(ctx context.Context, cfg *config.Config, sources []collectors.Instance) error {
	sum, err := deriveFacts(ctx, cfg, sources, d.store, false, d.log)
	if err != nil {
		return err
	}
	return d.exporter.Update(ctx, sum.Facts, cfg.TeamNames(), cfg.Rules.DORATable, time.Now())
}

// routes are the listener's handlers.
func (d *daemon) routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", exporter.Handler(d.registry))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		if err := d.store.Ping(ctx); err != nil {
			http.Error(w, "not ready: "+oneLine(err.Error()), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	mux.HandleFunc("/webhooks/", func(w http.ResponseWriter, r *http.Request) {
		d.webhooks.Load().ServeHTTP(w, r)
	})
	return mux
}

// derivingWriter asks for a derivation after each write, so that pushed records
// reach the facts and /metrics without waiting for a collection.
type derivingWriter struct {
	collectors.Writer
	then func()
}

func (w *derivingWriter) Write(ctx context.Context, b *schema.Batch) error {
	if err := w.Writer.Write(ctx, b); err != nil {
		return err
	}
	w.then()
	return nil
}
