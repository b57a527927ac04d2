package push

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/flowmeter/flowmeter/collectors/httpwait"
	"github.com/grafana-tools/sdk"
)

// Retries is how many times a request that Grafana answered with a 5xx is tried
// again, after jittered exponential backoff (or the Retry-After Grafana sent, when
// that is longer), before its item is reported failed.
const Retries = 3

const (
	backoffBase    = 500 * time.Millisecond
	backoffLimit   = 8 * time.Second
	retryAfterCap  = 30 * time.Second
	errorBodyLimit = 64 << 10
	userAgent      = "flowmeter"
)

// Client talks to one Grafana organisation with a service-account token. It wraps
// the grafana-tools SDK client, which it uses where the SDK has the call, and makes
// the few requests the SDK lacks itself over the same HTTP client; see the
// comments on each.
type Client struct {
	sdk  *sdk.Client
	hc   *http.Client
	base *url.URL

	// sleep waits between retries; tests replace it to run without waiting.
	sleep func(context.Context, time.Duration) error
}

// NewClient returns a client for the Grafana at baseURL (its root URL, with the
// sub-path Grafana is served under, if any) that authenticates with token, a
// Grafana service-account token, sent as a Bearer token. hc is the HTTP client to
// use (its timeout and proxy settings are kept); nil is a client with a 30-second
// timeout.
func NewClient(baseURL, token string, hc *http.Client) (*Client, error) {
	base, err := url.Parse(strings.TrimSpace(baseURL))
	if err != nil {
		return nil, fmt.Errorf("grafana push: the Grafana URL %q: %w", baseURL, err)
	}
	if (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("grafana push: the Grafana URL %q is not an http:// or https:// URL", baseURL)
	}
	token = strings.TrimSpace(token)
	if token == "" {
		return nil, errors.New("grafana push: the service-account token is empty; make one in Grafana under Administration > Service accounts")
	}
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	// A copy of the caller's client, so that its transport is not changed.
	own := *hc
	rt := own.Transport
	if rt == nil {
		rt = http.DefaultTransport
	}
	own.Transport = &transport{base: rt, host: base.Host, auth: "Bearer " + token}
	// The SDK is given no key: it would take a token holding a ':' for
	// user:password basic auth. The transport sets the Bearer header instead, on
	// the SDK's requests and on this package's own alike.
	s, err := sdk.NewClient(base.String(), "", &own)
	if err != nil {
		return nil, fmt.Errorf("grafana push: the Grafana URL %q: %w", baseURL, err)
	}
	return &Client{sdk: s, hc: &own, base: base, sleep: httpwait.Sleep}, nil
}

// exchange is what the transport saw of the last response to a request made with
// a context carrying it: the SDK's calls keep the status code only inside an
// error string (and one, CreateDatasource, not at all), so the status and the body
// of a refusal are taken here, where every response passes.
type exchange struct {
	status int
	header http.Header
	body   []byte
}

type exchangeKey struct{}

type transport struct {
	base       http.RoundTripper
	host, auth string
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(req.Context())
	r.Header.Set("User-Agent", userAgent)
	// The token goes only to the Grafana host, not to wherever a redirect leads.
	if r.URL.Host == t.host {
		r.Header.Set("Authorization", t.auth)
	} else {
		r.Header.Del("Authorization")
	}
	resp, err := t.base.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	if x, ok := req.Context().Value(exchangeKey{}).(*exchange); ok {
		x.status, x.header, x.body = resp.StatusCode, resp.Header, nil
		if resp.StatusCode >= 400 {
			b, _ := io.ReadAll(io.LimitReader(resp.Body, errorBodyLimit))
			resp.Body.Close()
			x.body = b
			resp.Body = io.NopCloser(bytes.NewReader(b))
		}
	}
	return resp, nil
}

// op names one request for errors: its method and path, and what it was doing, so
// that a refusal can say which role it needs.
type op struct {
	method, path string
	kind         string // folder, datasource or dashboard
	verb         string // read, create or save
}

// do runs call, a request to Grafana through the SDK or this package, retrying it
// after a 5xx; it returns the final status code, or an error: the transport's, or
// an *APIError when Grafana answered 4xx or 5xx (for every try).
func (c *Client) do(ctx context.Context, o op, call func(context.Context) error) (int, error) {
	for attempt := 0; ; attempt++ {
		x := &exchange{}
		err := call(context.WithValue(ctx, exchangeKey{}, x))
		if x.status == 0 {
			if err == nil {
				err = errors.New("no answer")
			}
			if ctx.Err() != nil {
				return 0, ctx.Err()
			}
			return 0, fmt.Errorf("cannot reach Grafana at %s (%s %s): %w", c.base.Redacted(), o.method, o.path, err)
		}
		if x.status < 400 {
			if err != nil {
				return x.status, fmt.Errorf("%s %s: Grafana's answer could not be read: %w", o.method, o.path, err)
			}
			return x.status, nil
		}
		if x.status >= 500 && attempt < Retries {
			wait := httpwait.Backoff(backoffBase, backoffLimit, attempt)
			if ra, ok := httpwait.RetryAfter(x.header.Get("Retry-After"), time.Now()); ok && ra > wait {
				wait = min(ra, retryAfterCap)
			}
			if err := c.sleep(ctx, wait); err != nil {
				return x.status, err
			}
			continue
		}
		return x.status, newAPIError(o, x.status, x.body, attempt+1)
	}
}

// raw makes one JSON request that the SDK has no call for, decoding a 2xx answer
// into out (when out is not nil).
func (c *Client) raw(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base.JoinPath(path).String(), body)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 400 || out == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, errorBodyLimit))
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
}
