package graph

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/guestsync/guestsync/pkg/graphsim"
)

// TestAnInterruptLetsTheBatchInFlightFinish: once the run's context is
// cancelled (SIGINT or SIGTERM), no new batch is sent, and the batch
// already sent is answered and recorded as Graph answered it: its
// creates are done, not failed with "context canceled" while Graph
// carries them out.
func TestAnInterruptLetsTheBatchInFlightFinish(t *testing.T) {
	t.Parallel()
	sim := graphsim.New(graphsim.Options{VerifiedDomains: []string{"partners.contoso.com"}, Token: "t0ken"})
	ctx, cancel := context.WithCancel(context.Background())
	var once sync.Once
	var mu sync.Mutex
	batches := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/$batch") {
			mu.Lock()
			batches++
			mu.Unlock()
			once.Do(func() {
				cancel() // the interrupt arrives while this batch is in flight
				// A client that drops the request on the interrupt is
				// seen here at once; one that lets it finish is answered.
				select {
				case <-r.Context().Done():
				case <-time.After(500 * time.Millisecond):
				}
			})
		}
		sim.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	c, err := New(Options{URL: srv.URL + "/v1.0", Credential: StaticToken("t0ken"), Concurrency: 1})
	require.NoError(t, err)

	res := c.Apply(ctx, creates(60))
	require.Len(t, res, 60)
	for i, r := range res[:20] {
		assert.Nil(t, r.Failure, "action %d was in the batch in flight", i)
	}
	for i, r := range res[20:] {
		if assert.NotNil(t, r.Failure, "action %d", 20+i) {
			assert.Contains(t, r.Failure.Message, "not attempted")
		}
	}
	assert.Equal(t, 1, batches, "no batch is sent after the interrupt")
	cur, err := c.Current(context.Background())
	require.NoError(t, err)
	assert.Len(t, cur, 20)
}
