package revocation

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/medinsights/auth/internal/version"
)

// retryAfterError is a 429 or 503 with Retry-After: the Syncer waits at
// least that long before it asks again.
type retryAfterError struct {
	status int
	after  time.Duration
}

func (e *retryAfterError) Error() string {
	return fmt.Sprintf("feed answered status %d, retry after %v", e.status, e.after)
}

// maxRetryAfter bounds the Retry-After the Syncer honours.
const maxRetryAfter = time.Minute

// do sends a GET with the feed's credential. An answer other than 200 is an
// error, returned with the response (its body closed) so the caller can
// tell a 404 apart.
func (s *Syncer) do(ctx context.Context, rawURL, accept string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, fmt.Errorf("build feed request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+s.token)
	req.Header.Set("Accept", accept)
	req.Header.Set("User-Agent", "medinsights-auth/"+version.Version+" revocation-syncer")

	resp, err := s.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("request feed: %w", err)
	}
	if resp.StatusCode == http.StatusOK {
		return resp, nil
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusUnauthorized, http.StatusForbidden:
		return resp, fmt.Errorf("feed refused the credential (status %d): check revocation_token against the issuer's REVOCATION_FEED_TOKEN", resp.StatusCode)
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && secs > 0 {
			return resp, &retryAfterError{status: resp.StatusCode, after: min(time.Duration(secs)*time.Second, maxRetryAfter)}
		}
	}
	return resp, fmt.Errorf("feed answered status %d", resp.StatusCode)
}
