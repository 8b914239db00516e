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

// TestAnInterruptEndsTheWorkInFlightAfterTheGrace: a batch in flight that
// Graph does not answer is given up FinishGrace after the interrupt, so
// that the run can save its state before a supervisor kills it.
func TestAnInterruptEndsTheWorkInFlightAfterTheGrace(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cancel()
		select { // never answers while the client waits
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(func() { close(release); srv.Close() })
	c, err := New(Options{URL: srv.URL + "/v1.0", Credential: StaticToken("t0ken"), Concurrency: 1, FinishGrace: 50 * time.Millisecond})
	require.NoError(t, err)
	res := c.Apply(ctx, creates(30))
	require.Len(t, res, 30)
	for i, r := range res {
		require.NotNil(t, r.Failure, "action %d", i)
	}
	assert.Contains(t, res[0].Failure.Message, "context canceled", "the batch in flight was given up")
	assert.Contains(t, res[29].Failure.Message, "not attempted")
}

// TestAnInterruptAfterAnUnclearAnswerSaysSo: a create whose batch was
// answered 504 may have been carried out; when the interrupt stops its
// retry, its failure says so rather than "not attempted".
func TestAnInterruptAfterAnUnclearAnswerSaysSo(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cancel()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusGatewayTimeout)
		_, _ = w.Write([]byte(`{"error":{"code":"GatewayTimeout","message":"The gateway did not receive a response in time."}}`))
	}))
	t.Cleanup(srv.Close)
	c, err := New(Options{URL: srv.URL + "/v1.0", Credential: StaticToken("t0ken"), Concurrency: 1, RetryDelay: time.Millisecond})
	require.NoError(t, err)
	res := c.Apply(ctx, creates(3))
	require.Len(t, res, 3)
	for _, r := range res {
		require.NotNil(t, r.Failure)
		assert.Contains(t, r.Failure.Message, "Graph may have carried it out")
	}
}
