package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// TestComposeFile checks docker-compose.yml as far as can be done without a Docker
// engine: it parses, every image is pinned to a version tag, every service has a
// health check, and every file it mounts from the repository exists.
func TestComposeFile(t *testing.T) {
	root := filepath.Join("..", "..")
	data, err := os.ReadFile(filepath.Join(root, "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var compose struct {
		Name     string `yaml:"name"`
		Services map[string]struct {
			Image       string         `yaml:"image"`
			Volumes     []string       `yaml:"volumes"`
			Healthcheck map[string]any `yaml:"healthcheck"`
			DependsOn   map[string]any `yaml:"depends_on"`
		} `yaml:"services"`
		Volumes map[string]any `yaml:"volumes"`
	}
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(false)
	if err := dec.Decode(&compose); err != nil {
		t.Fatalf("docker-compose.yml does not parse: %v", err)
	}
	if _, ok := compose.Services["clickhouse"]; !ok {
		t.Fatal("no clickhouse service")
	}
	pinned := regexp.MustCompile(`^[a-z0-9]+([._/-][a-z0-9]+)*:\d+(\.\d+)+[a-z0-9.-]*$`)
	for name, svc := range compose.Services {
		if !pinned.MatchString(svc.Image) {
			t.Errorf("service %s: image %q is not pinned to a version tag", name, svc.Image)
		}
		test, _ := svc.Healthcheck["test"].([]any)
		if len(test) < 2 || (test[0] != "CMD" && test[0] != "CMD-SHELL") {
			t.Errorf("service %s: healthcheck test %v, want [\"CMD\", ...]", name, svc.Healthcheck["test"])
		}
		for dep := range svc.DependsOn {
			if _, ok := compose.Services[dep]; !ok {
				t.Errorf("service %s depends on unknown service %s", name, dep)
			}
		}
		for _, v := range svc.Volumes {
			src, _, _ := strings.Cut(v, ":")
			if strings.HasPrefix(src, ".") || strings.HasPrefix(src, "/") {
				if _, err := os.Stat(filepath.Join(root, src)); err != nil {
					t.Errorf("service %s mounts %s, which is not in the repository", name, src)
				}
			} else if _, ok := compose.Volumes[src]; !ok {
				t.Errorf("service %s uses volume %s, which is not declared", name, src)
			}
		}
	}
}
