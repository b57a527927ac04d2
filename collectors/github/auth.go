package github

import (
	"context"
	"fmt"
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

func (a *authTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	token, err := a.tokens.Token(req.Context())
	if err != nil {
		return nil, fmt.Errorf("github token: %w", err)
	}
	signed := req.Clone(req.Context())
	signed.Header.Set("Authorization", "Bearer "+token)
	return a.next.RoundTrip(signed)
}
