// Package builtin lists the source types compiled into flowmeter. A new source adds
// one line here; nothing registers itself at start-up.
package builtin

import (
	"github.com/flowmeter/flowmeter/collectors"
	"github.com/flowmeter/flowmeter/collectors/github"
	"github.com/flowmeter/flowmeter/collectors/jira"
	"github.com/flowmeter/flowmeter/collectors/opsgenie"
	"github.com/flowmeter/flowmeter/collectors/pagerduty"
	"github.com/flowmeter/flowmeter/collectors/synthetic"
	"github.com/flowmeter/flowmeter/collectors/webhook"
)

// Registry returns every built-in source type by the key that names it in the config.
func Registry() collectors.Registry {
	return collectors.Registry{
		"github":    github.NewSource,
		"jira":      jira.NewSource,
		"opsgenie":  opsgenie.NewSource,
		"pagerduty": pagerduty.NewSource,
		"synthetic": synthetic.NewSource,
		"webhook":   webhook.NewSource,
	}
}
