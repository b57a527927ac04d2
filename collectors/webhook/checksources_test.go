package webhook_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/flowmeter/flowmeter/collectors"
	"github.com/flowmeter/flowmeter/collectors/webhook"
	"github.com/flowmeter/flowmeter/config"
)

// otherSource is a source that takes no GitHub events.
type otherSource struct{}

func (otherSource) Collect(context.Context, collectors.Writer, collectors.CollectOptions) error {
	return nil
}

func TestCheckSources(t *testing.T) {
	setSecrets(t)
	registry := collectors.Registry{
		"webhook":   webhook.NewSource,
		"github":    func(string, collectors.Settings) (collectors.Source, error) { return &fakeGitHub{}, nil },
		"synthetic": func(string, collectors.Settings) (collectors.Source, error) { return otherSource{}, nil },
	}
	for _, tc := range []struct {
		name, sources, githubSource, want string
	}{
		{"names a github source", "acme-github:github,demo:synthetic", "acme-github", ""},
		{"misspelt", "acme-github:github,demo:synthetic", "acme-githb",
			`f.yaml:8: sources[0].webhook.github_source: no source is named "acme-githb" (did you mean "acme-github"?)`},
		{"far off", "acme-github:github,ghe:github", "gitlab",
			`f.yaml:8: sources[0].webhook.github_source: no source is named "gitlab" (github sources: acme-github, ghe)`},
		{"not a github source", "acme-github:github,demo:synthetic", "demo",
			`f.yaml:8: sources[0].webhook.github_source: source "demo" is a synthetic source, which does not take GitHub's events: name a github source`},
		{"no github source at all", "demo:synthetic", "acme-github",
			`f.yaml:8: sources[0].webhook.github_source: no source is named "acme-github", and the config has no github source to name`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			text := "sources:\n" + // 1
				"  - name: ci\n" + // 2
				"    webhook:\n" + // 3
				"      token_env: WH_TEST_TOKEN\n" + // 4
				"      hmac_secret_env: WH_TEST_HMAC\n" + // 5
				"      github_secret_env: WH_TEST_GITHUB\n" + // 6
				"      # the source whose records GitHub's events update\n" + // 7
				"      github_source: " + tc.githubSource + "\n" // 8
			for _, s := range strings.Split(tc.sources, ",") {
				name, typ, _ := strings.Cut(s, ":")
				text += fmt.Sprintf("  - name: %s\n    %s: {}\n", name, typ)
			}
			cfg, err := config.Parse([]byte(text), "f.yaml")
			if err != nil {
				t.Fatal(err)
			}
			built, err := registry.Build(cfg)
			if err != nil {
				t.Fatal(err)
			}
			err = built[0].Source.(*webhook.Source).CheckSources(built)
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("error %v, want none", err)
			case tc.want != "" && (err == nil || err.Error() != tc.want):
				t.Fatalf("error %v\nwant  %s", err, tc.want)
			}
		})
	}
}
