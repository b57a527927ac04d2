package github

import (
	"context"
	"fmt"
	"io"
	"net/http"
)

// tokenSource gives the token a request is sent with. A personal or fine-grained
// token never changes; a GitHub App installation token expires after an hour, so
// its source mints a new one before then.
type tokenSource interface {
	Token(ctx context.Context) (string, error)
}

// staticToken is a token given in the config.
type staticToken string

func (s staticToken) Token(context.Context) (string, error) { return string(s), nil }

// authTransport signs every request, REST and GraphQL alike, with the current
// token. It sits below the rate-limit transport, so a retried request asks for the
// token again and a token refreshed in between is the one sent.
type authTransport struct {
	next   http.RoundTripper
	tokens tokenSource
}

// refusable is a token source that can replace a token GitHub refused before its
// expiry (an installation token revoked, or host and GitHub clocks apart).
type refusable interface {
	refused(token string)
}

// RoundTrip signs and sends a request. When GitHub answers 401 to a token its
// source can replace, the request is sent once more with a new token; a second 401
// stands.
func (a *authTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, token, err := a.send(req)
	source, ok := a.tokens.(refusable)
	if err != nil || !ok || resp.StatusCode != http.StatusUnauthorized {
		return resp, err
	}
	again, err := rewound(req)
	if err != nil {
		return resp, nil
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	source.refused(token)
	resp, _, err = a.send(again)
	return resp, err
}

// send signs a request with the current token and sends it.
func (a *authTransport) send(req *http.Request) (*http.Response, string, error) {
	token, err := a.tokens.Token(req.Context())
	if err != nil {
		return nil, "", fmt.Errorf("github token: %w", err)
	}
	signed := req.Clone(req.Context())
	signed.Header.Set("Authorization", "Bearer "+token)
	resp, err := a.next.RoundTrip(signed)
	return resp, token, err
}
