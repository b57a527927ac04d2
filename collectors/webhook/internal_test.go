package webhook

import (
	"fmt"
	"testing"
)

func TestRecentSetForgetsTheOldest(t *testing.T) {
	s := newRecentSet(recentDeliveries)
	for i := range recentDeliveries {
		if !s.add(fmt.Sprint(i)) {
			t.Fatalf("key %d reported as seen", i)
		}
	}
	if s.add("0") || s.add(fmt.Sprint(recentDeliveries-1)) {
		t.Fatal("a remembered key was reported new")
	}
	s.add("new")
	if s.len() != recentDeliveries {
		t.Errorf("holds %d keys, want %d", s.len(), recentDeliveries)
	}
	if !s.add("0") {
		t.Error("the oldest key is still remembered after the set overflowed")
	}
}

func TestRecentSetRemoveAndAddAgain(t *testing.T) {
	s := newRecentSet(3)
	s.add("a")
	s.remove("a") // the delivery failed to store
	s.add("b")
	s.add("a") // GitHub redelivers it
	s.add("c") // the ring wraps over a's first slot; the second a must survive
	s.add("d")
	if s.add("a") {
		t.Error("a re-added key was forgotten when its old slot was reused")
	}
	if !s.add("b") {
		t.Error("the oldest key b is still remembered")
	}
	if s.len() > 3 {
		t.Errorf("holds %d keys, want at most 3", s.len())
	}
}

func TestParseFluxRevision(t *testing.T) {
	sha := "731f7eaddfb6af01cb2173e18f0f75b0ba780ef1"
	for _, tc := range []struct{ rev, sha, ref string }{
		{"main@sha1:" + sha, sha, "main"},
		{"refs/heads/release/1.x@sha1:" + sha, sha, "refs/heads/release/1.x"},
		{"v1.2.3@sha1:" + sha, sha, "v1.2.3"},
		{"sha1:" + sha, sha, ""},
		{"main/" + sha, sha, "main"},
		{sha, sha, ""},
		{"latest@sha256:" + sha + sha[:24], "", ""},
		{"6.5.0", "", ""},
		{"main/abc", "", ""},
		{"main@sha1:not-hex", "", ""},
		{"", "", ""},
	} {
		sha, ref := parseFluxRevision(tc.rev)
		if sha != tc.sha || ref != tc.ref {
			t.Errorf("parseFluxRevision(%q) = %q, %q; want %q, %q", tc.rev, sha, ref, tc.sha, tc.ref)
		}
	}
}
