package metrics

import (
	"context"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/flowmeter/flowmeter/collectors/synthetic"
	"github.com/flowmeter/flowmeter/config"
	"github.com/flowmeter/flowmeter/schema"
)

// syntheticInput generates an organisation and keeps what derivation reads.
func syntheticInput(tb testing.TB, o synthetic.Options) (Input, *Rules) {
	tb.Helper()
	all, err := synthetic.Delivery(context.Background(), o)
	if err != nil {
		tb.Fatal(err)
	}
	in := Input{PullRequests: all.PullRequests, Deployments: all.Deployments, Incidents: all.Incidents}
	cfg := &config.Config{Teams: synthetic.NewOrg(o).ConfigTeams()}
	in.Now = o.Now
	return in, NewRules(cfg)
}

func TestProperties(t *testing.T) {
	for _, seed := range []int64{1, 2, 3} {
		in, rules := syntheticInput(t, synthetic.Options{Seed: seed, Now: time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC), Days: 120})
		facts := Derive(in, rules)
		if len(facts.Changes) == 0 || len(facts.Deployments) != len(in.Deployments) || len(facts.Incidents) != len(in.Incidents) {
			t.Fatalf("seed %d: %d changes, %d/%d deployments, %d/%d incidents", seed,
				len(facts.Changes), len(facts.Deployments), len(in.Deployments), len(facts.Incidents), len(in.Incidents))
		}
		deps := map[string]schema.DeploymentFact{}
		for _, d := range facts.Deployments {
			deps[d.ID] = d
		}
		counted, failed := 0, 0
		for _, d := range facts.Deployments {
			if d.Failed && (!d.Production || len(d.FailureReasons) == 0) {
				t.Fatalf("seed %d: failed deployment that is not production or has no reason: %+v", seed, d)
			}
			if d.RecoverySeconds < schema.Unknown || (!d.Failed && d.RecoverySeconds != schema.Unknown) {
				t.Fatalf("seed %d: recovery %d on %+v", seed, d.RecoverySeconds, d)
			}
			if d.Unplanned != (len(d.UnplannedReasons) > 0) || (!d.Production && d.Unplanned) {
				t.Fatalf("seed %d: unplanned %v with reasons %v on %+v", seed, d.Unplanned, d.UnplannedReasons, d)
			}
			if d.RolloutOf != "" {
				// A later region counts as the first: that one is counted and lists it.
				first, ok := deps[d.RolloutOf]
				if !ok || first.RolloutOf != "" || first.Service != d.Service || first.CommitSHA != d.CommitSHA ||
					!slices.Contains(first.Rollout, d.ID) || d.Failed && !first.Failed {
					t.Fatalf("seed %d: %s counts as %+v", seed, d.ID, first)
				}
				continue
			}
			if d.Production {
				counted++
				if d.Failed {
					failed++
				}
			}
		}
		// The organisation has failures and successes: a rate strictly between 0 and 1.
		if counted == 0 || failed == 0 || failed == counted {
			t.Fatalf("seed %d: %d of %d counted production deployments failed", seed, failed, counted)
		}
		shipped, checked := 0, 0
		for _, c := range facts.Changes {
			parts := []int64{c.CodingSeconds, c.PickupSeconds, c.ReviewSeconds, c.DeploySeconds, c.LeadTimeSeconds}
			for _, p := range parts {
				if p < schema.Unknown {
					t.Fatalf("seed %d: negative part in %+v", seed, c)
				}
			}
			if c.State != schema.ChangeShipped {
				continue
			}
			shipped++
			d, ok := deps[c.ShippedBy]
			if !ok || !d.Production || d.FinishedAt.Before(c.MergedAt) || !d.FinishedAt.Equal(c.ShippedAt) {
				t.Fatalf("seed %d: %s shipped by %+v", seed, c.ID, d)
			}
			if c.PickupSeconds != schema.Unknown && c.ReviewSeconds != schema.Unknown {
				checked++
				if sum := c.CodingSeconds + c.PickupSeconds + c.ReviewSeconds + c.DeploySeconds; sum != c.LeadTimeSeconds {
					t.Fatalf("seed %d: parts add up to %d, lead time %d: %+v", seed, sum, c.LeadTimeSeconds, c)
				}
			}
		}
		if shipped == 0 || checked == 0 {
			t.Fatalf("seed %d: %d shipped, %d with every part known", seed, shipped, checked)
		}
		if again := Derive(in, rules); !reflect.DeepEqual(again, facts) {
			t.Fatalf("seed %d: deriving twice gave different facts", seed)
		}
	}
}
