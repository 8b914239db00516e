package graph

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/guestsync/guestsync/pkg/graphsim"
)

// One server error on a listing does not fail a nightly run: the guests,
// the deleted guests and the delta pages are all idempotent GETs, retried
// alike (getRetrying).
func TestListingsRideOutOneServerError(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, path string
		list       func(*Client) error
	}{
		{"guests", "/v1.0/users", func(c *Client) error { _, err := c.Current(context.Background()); return err }},
		{"deleted guests", "/v1.0/directory/deletedItems/", func(c *Client) error { _, err := c.Deleted(context.Background()); return err }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sim := graphsim.New(graphsim.Options{VerifiedDomains: []string{"partners.contoso.com"}, Token: "t0ken"})
			var mu sync.Mutex
			failed := 0
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				first := failed == 0 && r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, tc.path)
				if first {
					failed++
				}
				mu.Unlock()
				if first {
					w.Header().Set("Content-Type", "application/json")
					w.WriteHeader(http.StatusInternalServerError)
					_, _ = w.Write([]byte(`{"error":{"code":"generalException","message":"General exception while processing","innerError":{"request-id":"r1","date":"2026-12-02T00:00:00"}}}`))
					return
				}
				sim.ServeHTTP(w, r)
			}))
			t.Cleanup(srv.Close)
			c, err := New(Options{URL: srv.URL + "/v1.0", Credential: StaticToken("t0ken")})
			require.NoError(t, err)
			require.NoError(t, tc.list(c))
			mu.Lock()
			defer mu.Unlock()
			assert.Equal(t, 1, failed, "the server error was answered once")
		})
	}
}
