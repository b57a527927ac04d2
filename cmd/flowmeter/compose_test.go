package main

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/flowmeter/flowmeter/collectors/synthetic"
	"github.com/flowmeter/flowmeter/reports/pages"
)

// The Docker Compose stack (docker-compose.yml, Dockerfile, deploy/, .env.example) is
// checked here as far as can be done without a container engine: the files parse,
// agree with each other and with the repository, and the configs they mount pass
// flowmeter's and Prometheus's own checks. docs/docker.md describes the stack.

// stackRoot is the repository, seen from this package's directory.
var stackRoot = filepath.Join("..", "..")

type composeService struct {
	Image       string         `yaml:"image"`
	Build       any            `yaml:"build"`
	Command     []string       `yaml:"command"`
	Profiles    []string       `yaml:"profiles"`
	EnvFile     any            `yaml:"env_file"`
	Environment map[string]any `yaml:"environment"`
	Volumes     []string       `yaml:"volumes"`
	Ports       []string       `yaml:"ports"`
	Healthcheck map[string]any `yaml:"healthcheck"`
	DependsOn   map[string]any `yaml:"depends_on"`
}

type composeFile struct {
	Name     string                    `yaml:"name"`
	Services map[string]composeService `yaml:"services"`
	Volumes  map[string]any            `yaml:"volumes"`
}

func readStackFile(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(stackRoot, filepath.FromSlash(name)))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func loadCompose(t *testing.T) (composeFile, []byte) {
	t.Helper()
	data := readStackFile(t, "docker-compose.yml")
	var compose composeFile
	if err := yaml.Unmarshal(data, &compose); err != nil {
		t.Fatalf("docker-compose.yml does not parse: %v", err)
	}
	return compose, data
}

// stackBindMount is one "SOURCE:TARGET[:MODE]" entry of a service's volumes whose source
// is a path in the repository.
type stackBindMount struct{ source, target string }

func stackBindMounts(svc composeService) []stackBindMount {
	var out []stackBindMount
	for _, v := range svc.Volumes {
		src, rest, _ := strings.Cut(v, ":")
		target, _, _ := strings.Cut(rest, ":")
		if strings.HasPrefix(src, ".") || strings.HasPrefix(src, "/") {
			out = append(out, stackBindMount{source: path.Clean(src), target: target})
		}
	}
	return out
}

// pinnedImage is the rule for images pulled from a registry: a tag naming at least
// a release line, MAJOR.MINOR (ClickHouse's 26.8 LTS line, golang's 1.26), or a
// release (13.2.0, v3.13.2), optionally with a variant suffix (-alpine). Neither
// latest nor a bare major version (grafana:13), which move to releases nobody
// has tried with flowmeter.
var pinnedImage = regexp.MustCompile(`^[a-z0-9]+([._/-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9._-]+)*:v?\d+\.\d+(\.\d+)*(-[a-z0-9.]+)?$`)

// TestComposeFile checks docker-compose.yml: it parses, every image is pinned or
// built here, the services that can have a health check have one, every file it
// mounts from the repository exists, ports stay on loopback, and no secret is
// written in it.
func TestComposeFile(t *testing.T) {
	compose, _ := loadCompose(t)
	if compose.Name != "flowmeter" {
		t.Errorf("name = %q, want flowmeter", compose.Name)
	}
	for _, want := range []string{"clickhouse", "flowmeter", "flowmeter-demo", "grafana", "prometheus"} {
		if _, ok := compose.Services[want]; !ok {
			t.Errorf("no %s service", want)
		}
	}
	// Images that have no shell-free way to probe themselves are exempt; the
	// flowmeter image is distroless and flowmeter has no probe subcommand.
	needsHealthcheck := map[string]bool{"clickhouse": true, "grafana": true, "prometheus": true}
	generated := filepath.Join(stackRoot, "dashboards", "generated")
	_, err := os.Stat(generated)
	haveGenerated := err == nil

	names := make([]string, 0, len(compose.Services))
	for name := range compose.Services {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		svc := compose.Services[name]
		switch {
		case svc.Build != nil:
			// Built from this repository; image only names the result.
		case svc.Image == "":
			t.Errorf("service %s has neither image nor build", name)
		case !pinnedImage.MatchString(svc.Image):
			t.Errorf("service %s: image %q is not pinned to a release line (MAJOR.MINOR) or release", name, svc.Image)
		}

		if svc.Healthcheck == nil {
			if needsHealthcheck[name] {
				t.Errorf("service %s has no healthcheck", name)
			}
		} else {
			test, _ := svc.Healthcheck["test"].([]any)
			if len(test) < 2 || (test[0] != "CMD" && test[0] != "CMD-SHELL") {
				t.Errorf("service %s: healthcheck test %v, want [\"CMD\", ...]", name, svc.Healthcheck["test"])
			}
		}

		for dep, cond := range svc.DependsOn {
			depSvc, ok := compose.Services[dep]
			if !ok {
				t.Errorf("service %s depends on unknown service %s", name, dep)
				continue
			}
			if len(depSvc.Profiles) > 0 && len(svc.Profiles) == 0 {
				t.Errorf("service %s depends on %s, which only runs with profile %v", name, dep, depSvc.Profiles)
			}
			if c, _ := cond.(map[string]any); c["condition"] == "service_healthy" && depSvc.Healthcheck == nil {
				t.Errorf("service %s waits for %s to be healthy, but it has no healthcheck", name, dep)
			}
		}

		for _, m := range stackBindMounts(svc) {
			if strings.HasPrefix(m.source, "dashboards/generated") {
				if !haveGenerated {
					t.Logf("service %s mounts %s: not checked, dashboards/generated is not in this checkout yet", name, m.source)
					continue
				}
			}
			if _, err := os.Stat(filepath.Join(stackRoot, filepath.FromSlash(m.source))); err != nil {
				t.Errorf("service %s mounts %s, which is not in the repository", name, m.source)
			}
		}
		for _, v := range svc.Volumes {
			src, _, _ := strings.Cut(v, ":")
			if strings.HasPrefix(src, ".") || strings.HasPrefix(src, "/") {
				continue
			}
			if _, ok := compose.Volumes[src]; !ok {
				t.Errorf("service %s uses volume %s, which is not declared", name, src)
			}
		}

		for _, p := range svc.Ports {
			if !strings.HasPrefix(p, "127.0.0.1:") {
				t.Errorf("service %s publishes %q beyond this host; publish on 127.0.0.1", name, p)
			}
		}

		for key, value := range svc.Environment {
			s, _ := value.(string)
			if regexp.MustCompile(`PASSWORD|TOKEN|SECRET|KEY`).MatchString(key) && !regexp.MustCompile(`^\$\{[A-Z0-9_]+(:\?[^}]*)?\}$`).MatchString(s) {
				t.Errorf("service %s: %s = %q: a secret must come from .env as ${VAR:?message}, with no default", name, key, s)
			}
		}
	}

	// The flowmeter services run `run` with the config they mount, listening where
	// Prometheus scrapes them.
	for _, name := range []string{"flowmeter", "flowmeter-demo"} {
		svc := compose.Services[name]
		cmd := strings.Join(svc.Command, " ")
		m := regexp.MustCompile(`^run --config (\S+) --listen :9420$`).FindStringSubmatch(cmd)
		if m == nil {
			t.Errorf("service %s: command %q, want run --config FILE --listen :9420", name, cmd)
			continue
		}
		mounted := false
		for _, b := range stackBindMounts(svc) {
			mounted = mounted || b.target == m[1]
		}
		if !mounted {
			t.Errorf("service %s runs with %s, which it does not mount", name, m[1])
		}
	}
	if p := compose.Services["flowmeter-demo"].Profiles; !reflect.DeepEqual(p, []string{"demo"}) {
		t.Errorf("flowmeter-demo has profiles %v, want [demo]", p)
	}
}

// composeVars are the variables docker-compose.yml interpolates: ${VAR},
// ${VAR:-default}, ${VAR:?message}. $$ escapes a dollar sign for the container.
func composeVars(text string) []string {
	seen := map[string]bool{}
	var out []string
	for _, m := range regexp.MustCompile(`(^|[^$])\$\{([A-Za-z_][A-Za-z0-9_]*)`).FindAllStringSubmatch(text, -1) {
		if !seen[m[2]] {
			seen[m[2]] = true
			out = append(out, m[2])
		}
	}
	sort.Strings(out)
	return out
}

// stackEnvExample reads the variables .env.example sets, and fails on a line that is
// neither a comment nor NAME=value.
func stackEnvExample(t *testing.T) map[string]string {
	t.Helper()
	vars := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(string(readStackFile(t, ".env.example"))))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, value, ok := strings.Cut(line, "=")
		if !ok || !regexp.MustCompile(`^[A-Z][A-Z0-9_]*$`).MatchString(name) {
			t.Errorf(".env.example:%d: %q is not NAME=value", n, line)
			continue
		}
		vars[name] = value
	}
	return vars
}

// TestComposeEnvExample checks that .env.example documents every variable the
// stack reads: those docker-compose.yml interpolates, and those the flowmeter
// configs under deploy/ name by *_env (in comments too, for the sources a user
// uncomments); and that its values are placeholders, not secrets.
func TestComposeEnvExample(t *testing.T) {
	_, text := loadCompose(t)
	vars := stackEnvExample(t)
	want := composeVars(string(text))
	if len(want) == 0 {
		t.Fatal("docker-compose.yml interpolates no variable; the secrets must come from .env")
	}
	configs, err := filepath.Glob(filepath.Join(stackRoot, "deploy", "flowmeter", "*.yaml"))
	if err != nil || len(configs) == 0 {
		t.Fatalf("no config in deploy/flowmeter: %v", err)
	}
	for _, c := range configs {
		data, err := os.ReadFile(c)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range regexp.MustCompile(`\b[a-z_]+_env:\s*([A-Z][A-Z0-9_]*)`).FindAllStringSubmatch(string(data), -1) {
			want = append(want, m[1])
		}
	}
	for _, v := range want {
		if _, ok := vars[v]; !ok {
			t.Errorf("%s is read by the stack but not documented in .env.example", v)
		}
	}
	for name, value := range vars {
		if (strings.Contains(name, "PASSWORD") || strings.Contains(name, "TOKEN")) && value != "" && !strings.HasPrefix(value, "change-me") {
			t.Errorf(".env.example: %s=%q: secrets are left empty or change-me placeholders", name, value)
		}
	}
}

// TestComposePrometheusConfig checks deploy/prometheus/prometheus.yml: it scrapes
// flowmeter (the job the alert rules name) and the demo, loads the rules, and
// passes `promtool check config` laid out as the prometheus service mounts it, so
// the rule file it names is the one docker-compose.yml mounts.
func TestComposePrometheusConfig(t *testing.T) {
	var prom struct {
		RuleFiles     []string `yaml:"rule_files"`
		ScrapeConfigs []struct {
			JobName       string `yaml:"job_name"`
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
			DNSSDConfigs []struct {
				Names []string `yaml:"names"`
				Port  int      `yaml:"port"`
			} `yaml:"dns_sd_configs"`
		} `yaml:"scrape_configs"`
	}
	if err := yaml.Unmarshal(readStackFile(t, "deploy/prometheus/prometheus.yml"), &prom); err != nil {
		t.Fatalf("deploy/prometheus/prometheus.yml does not parse: %v", err)
	}
	targets := map[string][]string{}
	for _, sc := range prom.ScrapeConfigs {
		for _, st := range sc.StaticConfigs {
			targets[sc.JobName] = append(targets[sc.JobName], st.Targets...)
		}
		for _, d := range sc.DNSSDConfigs {
			for _, n := range d.Names {
				targets[sc.JobName] = append(targets[sc.JobName], n+":"+strconv.Itoa(d.Port))
			}
		}
	}
	for job, want := range map[string][]string{
		"flowmeter":  {"flowmeter:9420", "flowmeter-demo:9420"},
		"prometheus": {"localhost:9090"},
	} {
		if got := targets[job]; !reflect.DeepEqual(got, want) {
			t.Errorf("job %s scrapes %v, want %v", job, got, want)
		}
	}
	if len(prom.RuleFiles) == 0 {
		t.Error("prometheus.yml loads no rule files; it should load flowmeter's alerts")
	}

	// Lay the files out as the container sees them.
	compose, _ := loadCompose(t)
	svc, ok := compose.Services["prometheus"]
	if !ok {
		t.Fatal("no prometheus service")
	}
	root := t.TempDir()
	var config string
	for _, m := range stackBindMounts(svc) {
		if !strings.HasPrefix(m.target, "/etc/prometheus/") {
			continue
		}
		dst := filepath.Join(root, filepath.FromSlash(strings.TrimPrefix(m.target, "/etc/prometheus/")))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, readStackFile(t, m.source), 0o644); err != nil {
			t.Fatal(err)
		}
		if m.target == "/etc/prometheus/prometheus.yml" {
			config = dst
		}
	}
	if config == "" {
		t.Fatal("the prometheus service does not mount a config at /etc/prometheus/prometheus.yml")
	}
	for _, rf := range prom.RuleFiles {
		if _, err := os.Stat(filepath.Join(root, filepath.FromSlash(rf))); err != nil {
			t.Errorf("rule file %s is not mounted by the prometheus service", rf)
		}
	}

	promtool, err := exec.LookPath("promtool")
	if err != nil {
		msg := "promtool is not on PATH (Debian: apt-get install prometheus); prometheus.yml checked as YAML only"
		if os.Getenv("FLOWMETER_TEST_REQUIRE_PROMETHEUS") == "1" {
			t.Fatalf("%s, and FLOWMETER_TEST_REQUIRE_PROMETHEUS=1", msg)
		}
		t.Skip(msg)
	}
	if out, err := exec.Command(promtool, "check", "config", config).CombinedOutput(); err != nil {
		t.Errorf("promtool check config: %v\n%s", err, out)
	}
}

// setStackEnv sets every variable .env.example documents, as Compose would from
// .env, with a value where the example leaves it empty.
func setStackEnv(t *testing.T) {
	t.Helper()
	for name, value := range stackEnvExample(t) {
		if value == "" {
			value = "test-" + strings.ToLower(name)
		}
		t.Setenv(name, value)
	}
}

// TestDeployConfigs runs `flowmeter config check` on the configs the stack mounts,
// with the variables of .env.example set, and on deploy/flowmeter/flowmeter.yaml
// with its commented example sources enabled, so that uncommenting them works.
// Both must use the clickhouse service and serve where Prometheus scrapes.
func TestDeployConfigs(t *testing.T) {
	setStackEnv(t)
	dir := filepath.Join(stackRoot, "deploy", "flowmeter")
	for _, name := range []string{"flowmeter.yaml", "demo.yaml"} {
		p := filepath.Join(dir, name)
		if out, err := runInProcess(t, "config", "check", "--config", p); err != nil {
			t.Errorf("config check %s: %v\n%s", name, err, out)
		}
		var cfg struct {
			Store struct {
				ClickHouse *struct {
					Addr        string `yaml:"addr"`
					Database    string `yaml:"database"`
					Username    string `yaml:"username"`
					PasswordEnv string `yaml:"password_env"`
				} `yaml:"clickhouse"`
			} `yaml:"store"`
			Server struct {
				Listen   string `yaml:"listen"`
				SpoolDir string `yaml:"spool_dir"`
			} `yaml:"server"`
		}
		if err := yaml.Unmarshal(readStackFile(t, "deploy/flowmeter/"+name), &cfg); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		ch := cfg.Store.ClickHouse
		if ch == nil || ch.Addr != "clickhouse:9000" || ch.Database != "flowmeter" || ch.Username != "flowmeter" || ch.PasswordEnv != "CLICKHOUSE_PASSWORD" {
			t.Errorf("%s: store.clickhouse = %+v, want the clickhouse service (clickhouse:9000, database and user flowmeter, password_env CLICKHOUSE_PASSWORD)", name, ch)
		}
		if cfg.Server.Listen != ":9420" {
			t.Errorf("%s: server.listen = %q, want :9420", name, cfg.Server.Listen)
		}
		if !strings.HasPrefix(cfg.Server.SpoolDir, "/var/lib/flowmeter/") {
			t.Errorf("%s: server.spool_dir = %q, want it on the volume at /var/lib/flowmeter", name, cfg.Server.SpoolDir)
		}
	}

	// The commented sources of flowmeter.yaml, enabled.
	text := string(readStackFile(t, "deploy/flowmeter/flowmeter.yaml"))
	lines := strings.Split(text, "\n")
	uncommented := 0
	for i := 0; i < len(lines); i++ {
		if lines[i] != "sources: []" {
			continue
		}
		lines[i] = "sources:"
		for j := i + 1; j < len(lines) && strings.HasPrefix(lines[j], "#"); j++ {
			lines[j] = strings.TrimPrefix(lines[j], "#")
			uncommented++
		}
	}
	if uncommented == 0 {
		t.Fatal("deploy/flowmeter/flowmeter.yaml: no commented example sources after 'sources: []'")
	}
	p := writeFile(t, t.TempDir(), "flowmeter.yaml", strings.Join(lines, "\n"))
	if out, err := runInProcess(t, "config", "check", "--config", p); err != nil {
		t.Errorf("config check of flowmeter.yaml with its example sources uncommented: %v\n%s", err, out)
	}
}

// TestDeployPagesAuth checks that each flowmeter service of the stack starts: it
// listens on every interface of its container, so the config it mounts must give
// the report pages credentials (server.auth), from variables the service is handed
// and Compose requires.
func TestDeployPagesAuth(t *testing.T) {
	setStackEnv(t)
	compose, _ := loadCompose(t)
	for _, name := range []string{"flowmeter", "flowmeter-demo"} {
		svc := compose.Services[name]
		listen := svc.Command[len(svc.Command)-1]
		var configPath string
		for _, m := range stackBindMounts(svc) {
			if m.target == svc.Command[2] {
				configPath = filepath.Join(stackRoot, filepath.FromSlash(m.source))
			}
		}
		cfg, _, err := loadConfig(configPath)
		if err != nil {
			t.Fatalf("service %s: %v", name, err)
		}
		creds, err := pages.ResolveCredentials(cfg.Server.Auth)
		if err != nil {
			t.Errorf("service %s: %v", name, err)
		}
		if err := checkPagesGuarded("--listen", listen, creds); err != nil {
			t.Errorf("service %s would not start: %v", name, err)
		}
		a := cfg.Server.Auth
		for _, v := range []string{a.BearerTokenEnv, a.BasicPasswordEnv} {
			if v == "" {
				continue
			}
			value, _ := svc.Environment[v].(string)
			if !regexp.MustCompile(`^\$\{` + v + `:\?[^}]+\}$`).MatchString(value) {
				t.Errorf("service %s: server.auth reads %s, which the service gets as %q; want ${%s:?message}, required", name, v, value, v)
			}
		}
	}
}

// TestDeployDemoTeams checks that deploy/flowmeter/demo.yaml has the teams of the
// organisation its synthetic source generates, as `flowmeter demo` writes them,
// so that the demo's dashboards show every team's figures.
func TestDeployDemoTeams(t *testing.T) {
	var demo struct {
		Sources []struct {
			Synthetic map[string]any `yaml:"synthetic"`
		} `yaml:"sources"`
		Teams []map[string]any `yaml:"teams"`
	}
	if err := yaml.Unmarshal(readStackFile(t, "deploy/flowmeter/demo.yaml"), &demo); err != nil {
		t.Fatal(err)
	}
	if len(demo.Sources) != 1 || demo.Sources[0].Synthetic == nil {
		t.Fatalf("demo.yaml: want one synthetic source, got %+v", demo.Sources)
	}
	if _, ok := demo.Sources[0].Synthetic["end"]; ok {
		t.Error("demo.yaml: the synthetic source sets end; without it the history ends today")
	}
	seed, _ := demo.Sources[0].Synthetic["seed"].(int)
	p := filepath.Join(t.TempDir(), "flowmeter.yaml")
	if err := writeDemoConfig(p, synthetic.Settings{Seed: int64(seed)}); err != nil {
		t.Fatal(err)
	}
	var want struct {
		Teams []map[string]any `yaml:"teams"`
	}
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, &want); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(demo.Teams, want.Teams) {
		t.Errorf("demo.yaml's teams differ from those `flowmeter demo --seed %d` writes:\n got %v\nwant %v", seed, demo.Teams, want.Teams)
	}
}

// TestDockerfile checks the Dockerfile against the repository: the builder's Go
// release line is go.mod's, the binary is static and runs as non-root, and the
// default command runs the config the compose file mounts on the port it publishes.
func TestDockerfile(t *testing.T) {
	text := string(readStackFile(t, "Dockerfile"))
	gomod := string(readStackFile(t, "go.mod"))
	goLine := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindStringSubmatch(gomod)
	if goLine == nil {
		t.Fatal("go.mod has no go line")
	}
	froms := regexp.MustCompile(`(?m)^FROM\s+(\S+)`).FindAllStringSubmatch(text, -1)
	if len(froms) != 2 {
		t.Fatalf("Dockerfile has %d stages, want 2 (build, run)", len(froms))
	}
	if want := "golang:" + goLine[1] + "-"; !strings.HasPrefix(froms[0][1], want) {
		t.Errorf("build stage FROM %s, want %s… (go.mod says go %s)", froms[0][1], want, goLine[1])
	}
	for _, f := range froms {
		if !pinnedImage.MatchString(f[1]) && !strings.HasPrefix(f[1], "gcr.io/distroless/") {
			t.Errorf("FROM %s is not pinned to a release line", f[1])
		}
	}
	if !strings.HasSuffix(froms[1][1], ":nonroot") {
		t.Errorf("run stage FROM %s, want a :nonroot distroless image", froms[1][1])
	}
	for _, want := range []string{
		"CGO_ENABLED=0 go build -trimpath",
		"./cmd/flowmeter",
		`ENTRYPOINT ["/flowmeter"]`,
		`CMD ["run", "--config", "/etc/flowmeter/flowmeter.yaml", "--listen", ":9420"]`,
		"EXPOSE 9420",
		"USER 65532:65532",
		`VOLUME ["/var/lib/flowmeter"]`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("Dockerfile lacks %s", want)
		}
	}
	compose, _ := loadCompose(t)
	if got := strings.Join(compose.Services["flowmeter"].Command, " "); got != "run --config /etc/flowmeter/flowmeter.yaml --listen :9420" {
		t.Errorf("the flowmeter service runs %q; keep it the image's CMD", got)
	}

	// .dockerignore must leave what the build needs.
	var ignored []string
	for _, line := range strings.Split(string(readStackFile(t, ".dockerignore")), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			ignored = append(ignored, strings.TrimPrefix(line, "/"))
		}
	}
	for _, need := range []string{"go.mod", "go.sum", "cmd", "schema", "store", "config", "collectors", "metrics", "reports"} {
		for _, pat := range ignored {
			if ok, _ := path.Match(pat, need); ok {
				t.Errorf(".dockerignore pattern %q leaves %s out of the build", pat, need)
			}
		}
	}
}

// TestDockerBuild builds the image when a container engine answers here, and
// runs `flowmeter version` in it. Without one (CI runners without Docker, this
// project's usual development hosts) it is skipped.
func TestDockerBuild(t *testing.T) {
	if testing.Short() {
		t.Skip("building the image takes minutes; not with -short")
	}
	var engine string
	for _, e := range []string{"docker", "podman", "buildah"} {
		if p, err := exec.LookPath(e); err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			err := exec.CommandContext(ctx, p, "info").Run()
			cancel()
			if err == nil {
				engine = p
				break
			}
			t.Logf("%s is on PATH but `%s info` fails: %v", e, e, err)
		}
	}
	if engine == "" {
		t.Skip("no container engine answers here (docker, podman or buildah with a working `info`); the Dockerfile is checked by TestDockerfile only")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	tag := "flowmeter:compose-test"
	build := []string{"build", "-t", tag, stackRoot}
	if filepath.Base(engine) == "buildah" {
		build = []string{"bud", "-t", tag, stackRoot}
	}
	if out, err := exec.CommandContext(ctx, engine, build...).CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v\n%s", engine, build, err, out)
	}
	if filepath.Base(engine) == "buildah" {
		return // buildah builds images; running them is podman's
	}
	out, err := exec.CommandContext(ctx, engine, "run", "--rm", tag, "version").CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "flowmeter ") {
		t.Errorf("%s run %s version: %v\n%s", engine, tag, err, out)
	}
}
