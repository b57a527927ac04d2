package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/flowmeter/flowmeter/collectors"
	"github.com/flowmeter/flowmeter/schema"
	"github.com/flowmeter/flowmeter/store"
)

// Signature headers of the generic endpoints.
const (
	// SignatureHeader carries flowmeter's own HMAC: "sha256=<hex of HMAC-SHA256 of the body>".
	SignatureHeader = "X-Flowmeter-Signature-256"
	// FluxSignatureHeader is what Flux's generic-hmac provider sends: "<hash>=<hex>".
	FluxSignatureHeader = "X-Signature"
)

// handler serves one webhook source's endpoints.
type handler struct {
	src *Source
	env collectors.ReceiverEnv
	log *slog.Logger
	now func() time.Time

	fluxSeen fluxSeen
}

func newHandler(src *Source, env collectors.ReceiverEnv) *handler {
	h := &handler{src: src, env: env, log: env.Logger, now: env.Now}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	h.log = h.log.With("source", src.name)
	if h.now == nil {
		h.now = time.Now
	}
	return h
}

// statusError is a request refused with a status and a one-line reason for the client.
type statusError struct {
	status int
	reason string
}

func (e *statusError) Error() string { return e.reason }

func badRequest(format string, args ...any) error {
	return &statusError{status: http.StatusBadRequest, reason: fmt.Sprintf(format, args...)}
}

var errUnauthorized = &statusError{status: http.StatusUnauthorized,
	reason: "missing or invalid credentials: send Authorization: Bearer <token> or " + SignatureHeader + ": sha256=<hex HMAC-SHA256 of the body>"}

// outcome is what a parser made of an event: a batch to write, or why it is ignored.
type outcome struct {
	batch   *schema.Batch
	ignored string
	// done, when set, runs once the batch is written.
	done func()
}

// parser turns an authenticated body into records.
type parser func(ctx context.Context, body []byte) (outcome, error)

// endpoint serves one generic endpoint: POST only, bearer token or HMAC signature,
// a JSON body of at most MaxBody, records written durably before 202.
func (h *handler) endpoint(parse parser, fluxSignature bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !allowPost(w, r) {
			return
		}
		bearer := h.bearerOK(r)
		sigHeader, sig := "", ""
		if !bearer && len(h.src.hmacSecret) > 0 {
			sigHeader, sig = SignatureHeader, r.Header.Get(SignatureHeader)
			if sig == "" && fluxSignature {
				sigHeader, sig = FluxSignatureHeader, r.Header.Get(FluxSignatureHeader)
			}
		}
		if !bearer && sig == "" {
			h.refuse(w, r, errUnauthorized)
			return
		}
		body, err := readBody(w, r)
		if err != nil {
			h.refuse(w, r, err)
			return
		}
		if !bearer && !verifyHMAC(sig, h.src.hmacSecret, body, sigHeader == FluxSignatureHeader) {
			h.refuse(w, r, errUnauthorized)
			return
		}
		if err := requireJSON(r); err != nil {
			h.refuse(w, r, err)
			return
		}
		out, err := parse(r.Context(), body)
		if err != nil {
			h.refuse(w, r, err)
			return
		}
		h.accept(w, r, out)
	})
}

// accept writes an outcome's records and answers 202.
func (h *handler) accept(w http.ResponseWriter, r *http.Request, out outcome) {
	if out.ignored != "" {
		h.log.Debug("webhook event ignored", "path", r.URL.Path, "reason", out.ignored)
		reply(w, http.StatusAccepted, map[string]any{"status": "ignored", "reason": out.ignored})
		return
	}
	n := 0
	if b := out.batch; b != nil && (b.Len() > 0 || len(b.Cursors) > 0) {
		if err := h.write(r, b); err != nil {
			h.notStored(w, r, err)
			return
		}
		n = b.Len()
	}
	if out.done != nil {
		out.done()
	}
	h.log.Debug("webhook event accepted", "path", r.URL.Path, "records", n)
	reply(w, http.StatusAccepted, map[string]any{"status": "accepted", "records": n})
}

func (h *handler) write(r *http.Request, b *schema.Batch) error {
	if h.env.Writer == nil {
		return errors.New("no writer configured")
	}
	return h.env.Writer.Write(r.Context(), b)
}

// notStored answers a write that failed: 400 when the store refused the event for
// what it holds, which a retry cannot change, otherwise 503 (even the durable
// writer failed), so that the sender retries later. The store's own words stay in
// the log.
func (h *handler) notStored(w http.ResponseWriter, r *http.Request, err error) {
	h.log.Error("webhook event not stored", "path", r.URL.Path, "err", err)
	if errors.Is(err, store.ErrPermanent) {
		reply(w, http.StatusBadRequest, map[string]string{"error": "the store refuses this event; flowmeter's log says why"})
		return
	}
	reply(w, http.StatusServiceUnavailable, map[string]string{"error": "the event could not be stored; retry later"})
}

// refuse answers a 4xx with its reason, or 400 for an error without a status.
func (h *handler) refuse(w http.ResponseWriter, r *http.Request, err error) {
	se := &statusError{status: http.StatusBadRequest, reason: err.Error()}
	errors.As(err, &se)
	h.log.Info("webhook request refused", "path", r.URL.Path, "status", se.status, "reason", se.reason, "remote", r.RemoteAddr)
	reply(w, se.status, map[string]string{"error": se.reason})
}

// requireJSON refuses a body that does not say it is JSON (415): a form or plain
// text posted by mistake would otherwise be answered as malformed JSON. JSON is
// UTF-8, so a charset parameter, if any, must say so.
func requireJSON(r *http.Request) error {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return &statusError{status: http.StatusUnsupportedMediaType,
			reason: "missing Content-Type: send Content-Type: application/json"}
	}
	mt, params, err := mime.ParseMediaType(ct)
	switch {
	case err != nil:
		return &statusError{status: http.StatusUnsupportedMediaType,
			reason: fmt.Sprintf("malformed Content-Type %q: send Content-Type: application/json", ct)}
	case mt != "application/json":
		return &statusError{status: http.StatusUnsupportedMediaType,
			reason: fmt.Sprintf("Content-Type %s is not accepted: send the event as JSON with Content-Type: application/json", mt)}
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") && !strings.EqualFold(cs, "utf8") {
		return &statusError{status: http.StatusUnsupportedMediaType,
			reason: fmt.Sprintf("charset %s is not accepted: JSON is UTF-8", cs)}
	}
	return nil
}

// allowPost answers 405 to anything but POST.
func allowPost(w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodPost {
		return true
	}
	w.Header().Set("Allow", http.MethodPost)
	reply(w, http.StatusMethodNotAllowed, map[string]string{"error": "method " + r.Method + " not allowed; use POST"})
	return false
}

// readBody reads at most MaxBody bytes of the body: more is 413.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return nil, &statusError{status: http.StatusRequestEntityTooLarge, reason: fmt.Sprintf("body larger than %d bytes", MaxBody)}
	case err != nil:
		return nil, badRequest("cannot read body: %v", err)
	}
	return body, nil
}

// bearerOK says whether the request carries the configured bearer token. Both sides
// are hashed first so that the comparison takes the same time whatever the lengths.
func (h *handler) bearerOK(r *http.Request) bool {
	if h.src.token == "" {
		return false
	}
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	got, want := sha256.Sum256([]byte(strings.TrimSpace(token))), sha256.Sum256([]byte(h.src.token))
	return subtle.ConstantTimeCompare(got[:], want[:]) == 1
}

// verifyHMAC checks a "<hash>=<hex>" signature of body in constant time: sha256
// only, or, for Flux, any hash its generic-hmac provider may use.
func verifyHMAC(sig string, key, body []byte, flux bool) bool {
	algo, digest, ok := strings.Cut(strings.TrimSpace(sig), "=")
	if !ok || len(key) == 0 {
		return false
	}
	var newHash func() hash.Hash
	switch {
	case algo == "sha256":
		newHash = sha256.New
	case flux && algo == "sha224":
		newHash = sha256.New224
	case flux && algo == "sha384":
		newHash = sha512.New384
	case flux && algo == "sha512":
		newHash = sha512.New
	default:
		return false
	}
	got, err := hex.DecodeString(digest)
	if err != nil {
		return false
	}
	mac := hmac.New(newHash, key)
	mac.Write(body)
	return hmac.Equal(got, mac.Sum(nil))
}

// reply writes v as one line of JSON.
func reply(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
