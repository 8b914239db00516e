package graph

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
)

// Only answers that may go better next time are retried: a certificate
// the client does not trust fails the same way on every try, and retrying
// it would only hold the run up and hide the cause behind a retry count.
func TestRetryable(t *testing.T) {
	t.Parallel()
	untrusted := &url509Error{err: x509.UnknownAuthorityError{}}
	for _, tc := range []struct {
		name   string
		status int
		err    error
		want   bool
	}{
		{"throttled", http.StatusTooManyRequests, nil, true},
		{"service unavailable", http.StatusServiceUnavailable, nil, true},
		{"gateway timeout", http.StatusGatewayTimeout, nil, true},
		{"bad request", http.StatusBadRequest, nil, false},
		{"not found", http.StatusNotFound, nil, false},
		{"dropped connection", 0, io.ErrUnexpectedEOF, true},
		{"cancelled", 0, context.Canceled, false},
		{"deadline", 0, fmt.Errorf("post: %w", context.DeadlineExceeded), false},
		{"unknown authority", 0, fmt.Errorf("post: %w", untrusted), false},
		{"certificate verification", 0, fmt.Errorf("post: %w", &tls.CertificateVerificationError{Err: x509.CertificateInvalidError{Reason: x509.Expired}}), false},
		{"hostname mismatch", 0, fmt.Errorf("post: %w", x509.HostnameError{Host: "127.0.0.1", Certificate: &x509.Certificate{}}), false},
	} {
		if got := retryable(tc.status, tc.err); got != tc.want {
			t.Errorf("%s: retryable(%d, %v) = %v, want %v", tc.name, tc.status, tc.err, got, tc.want)
		}
	}
}

// url509Error wraps an x509 error as net/url does.
type url509Error struct{ err error }

func (e *url509Error) Error() string { return "Post \"https://127.0.0.1\": " + e.err.Error() }
func (e *url509Error) Unwrap() error { return e.err }

// A Graph URL that does not serve is refused without echoing what it
// carries: a password written into it stays out of the message.
func TestNewNeverEchoesAPasswordInTheURL(t *testing.T) {
	t.Parallel()
	for _, u := range []string{"https://svc:Hunter2secret@[::1/v1.0", "https://svc:Hunter2secret@/v1.0", "svc:Hunter2secret@graph"} {
		_, err := New(Options{URL: u, Credential: StaticToken("t")})
		if err == nil {
			t.Fatalf("%s: accepted", "a URL without a host")
		}
		if strings.Contains(err.Error(), "Hunter2secret") {
			t.Errorf("the error %q echoes the password", err)
		}
	}
}
