package webhook

import (
	"bytes"
	"io"
	"mime"
	"net/http"
	"sync"

	gh "github.com/google/go-github/v57/github"
)

// githubEvents are the GitHub events whose records the GitHub source keeps; the
// webhook should subscribe to these and may send others, which are ignored.
var githubEvents = map[string]bool{
	"pull_request":        true,
	"pull_request_review": true,
	"deployment":          true,
	"deployment_status":   true,
	"workflow_run":        true,
	"release":             true,
}

// github serves /webhooks/github: it verifies GitHub's signature, drops replayed
// deliveries, and hands the event to the configured GitHub source, whose records it
// writes.
func (h *handler) github(w http.ResponseWriter, r *http.Request) {
	if !allowPost(w, r) {
		return
	}
	sig := r.Header.Get(gh.SHA256SignatureHeader)
	if sig == "" {
		h.refuse(w, r, &statusError{status: http.StatusUnauthorized,
			reason: "missing " + gh.SHA256SignatureHeader + ": give the webhook the secret flowmeter is configured with"})
		return
	}
	body, err := readBody(w, r)
	if err != nil {
		h.refuse(w, r, err)
		return
	}
	if err := gh.ValidateSignature(sig, body, h.src.githubSecret); err != nil {
		h.refuse(w, r, &statusError{status: http.StatusUnauthorized, reason: "invalid " + gh.SHA256SignatureHeader})
		return
	}
	if ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil ||
		(ct != "application/json" && ct != "application/x-www-form-urlencoded") {
		h.refuse(w, r, badRequest("Content-Type must be application/json (the webhook's content type setting)"))
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	payload, err := gh.ValidatePayload(r, h.src.githubSecret)
	if err != nil {
		h.refuse(w, r, badRequest("cannot read the payload: %v", err))
		return
	}
	event, delivery := gh.WebHookType(r), gh.DeliveryID(r)
	switch {
	case event == "":
		h.refuse(w, r, badRequest("missing X-GitHub-Event header"))
		return
	case delivery == "":
		h.refuse(w, r, badRequest("missing X-GitHub-Delivery header"))
		return
	case event == "ping":
		reply(w, http.StatusOK, map[string]string{"status": "pong"})
		return
	case !githubEvents[event]:
		h.accept(w, r, outcome{ignored: event + " events are not used"})
		return
	}
	// Reserve the delivery before handling it, so that a concurrent replay of it is
	// dropped too; release it when it could not be stored, so a redelivery works.
	if !h.src.deliveries.add(delivery) {
		h.log.Debug("github delivery replayed; ignored", "delivery", delivery, "event", event)
		reply(w, http.StatusAccepted, map[string]string{"status": "duplicate"})
		return
	}
	handled := false
	defer func() {
		if !handled {
			h.src.deliveries.remove(delivery)
		}
	}()
	handled = h.handOver(w, r, "github", event, delivery, h.src.githubSource, "github_source", payload)
}

// configError is a configuration mistake only found when a request needs it.
type configError string

func (e configError) Error() string { return string(e) }

// recentSet remembers the last n keys added, forgetting the oldest first; it is how
// replayed GitHub deliveries are recognised without unbounded memory.
type recentSet struct {
	mu   sync.Mutex
	gen  uint64
	keys map[string]uint64 // key -> generation it was added in
	ring []recentEntry
	next int
}

type recentEntry struct {
	key string
	gen uint64
}

func newRecentSet(n int) *recentSet {
	return &recentSet{keys: make(map[string]uint64, n), ring: make([]recentEntry, n)}
}

// add adds key and says whether it was new.
func (s *recentSet) add(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.keys[key]; ok {
		return false
	}
	s.gen++
	// The slot's old key is forgotten unless it was removed and added again since.
	if old := s.ring[s.next]; old.gen != 0 && s.keys[old.key] == old.gen {
		delete(s.keys, old.key)
	}
	s.ring[s.next] = recentEntry{key: key, gen: s.gen}
	s.next = (s.next + 1) % len(s.ring)
	s.keys[key] = s.gen
	return true
}

// remove forgets key.
func (s *recentSet) remove(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.keys, key)
}

// len is the number of keys remembered.
func (s *recentSet) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.keys)
}
