package graph

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/guestsync/guestsync/pkg/graphsim"
	"github.com/guestsync/guestsync/pkg/plan"
)

func creates(n int) []plan.Action {
	out := make([]plan.Action, n)
	for i := range out {
		out[i] = create(fmt.Sprintf("%022d==", i), fmt.Sprintf("p%05d", i))
	}
	return out
}

// requireAllCreated checks every result and that each id is a distinct
// user of the tenant.
func requireAllCreated(t *testing.T, c *Client, res []plan.Result, n int) {
	t.Helper()
	require.Len(t, res, n)
	ids := map[string]bool{}
	for i, r := range res {
		require.Nil(t, r.Failure, "action %d", i)
		assert.Equal(t, fmt.Sprintf("%022d==", i), r.Action.Anchor, "results keep the order of the actions")
		ids[r.ID] = true
	}
	cur, err := c.Current(context.Background())
	require.NoError(t, err)
	require.Len(t, cur, n)
	for _, g := range cur {
		assert.True(t, ids[g.ID], "result ids are the users' ids")
	}
}

func TestApplyBatchesTwentyAtATime(t *testing.T) {
	t.Parallel()
	c, sim, tl := simClient(t, graphsim.Options{}, Options{})
	res := c.Apply(context.Background(), creates(45))
	requireAllCreated(t, c, res, 45)
	st := sim.Stats()
	assert.Equal(t, 3, st.Batches, "45 creates: 20 + 20 + 5")
	assert.Equal(t, 3, tl.get("POST 200"))
	assert.Equal(t, 45, st.BatchItems)
	assert.Equal(t, 45, st.Writes)
}

func TestPacingMatchingTheBudgetIsNeverThrottled(t *testing.T) {
	t.Parallel()
	// The client's budget is Graph's. Its bucket holds the writes that can
	// be in flight (2 batches and 2 invitations: 42) fewer tokens than
	// Graph's, so however late a batch reaches the emulator (a loaded
	// machine bunches requests paced a token apart), the emulator's bucket
	// holds its tokens: not one 429. An earlier pacer with a bucket as big
	// as Graph's drew some whenever the first batch was held up.
	budget := graphsim.Budgets{AppWrites: 80, AppWriteWindow: time.Second}
	for _, tc := range []struct {
		name string
		lag  time.Duration // added to every request
	}{{"prompt", 0}, {"late", 30 * time.Millisecond}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, sim, tl := simClient(t, graphsim.Options{Throttle: graphsim.ThrottleDocumented, Budgets: budget,
				Faults: graphsim.Faults{Latency: tc.lag}},
				Options{WriteBudget: 80, WriteWindow: time.Second, Concurrency: 2})
			res := c.Apply(context.Background(), creates(200))
			requireAllCreated(t, c, res, 200)
			assert.Zero(t, sim.Stats().Throttled)
			assert.Equal(t, 10, tl.get("POST 200"), "200 creates: 10 batches, none sent again")
		})
	}
}

func TestThrottlingStormStillCreatesEveryGuest(t *testing.T) {
	t.Parallel()
	// The client believes in a budget five times Graph's: Graph answers
	// 429 with Retry-After, and every object still gets created.
	budget := graphsim.Budgets{AppWrites: 20, AppWriteWindow: time.Second}
	c, sim, _ := simClient(t, graphsim.Options{Throttle: graphsim.ThrottleDocumented, Budgets: budget},
		Options{WriteBudget: 100, WriteWindow: time.Second})
	res := c.Apply(context.Background(), creates(120))
	requireAllCreated(t, c, res, 120)
	st := sim.Stats()
	assert.Positive(t, st.Throttled)
	assert.Equal(t, 120, st.Writes)
}

func TestFaultsAreRetriedToSuccess(t *testing.T) {
	t.Parallel()
	// 14 % of tries fail: every kind of fault happens across 200 writes,
	// while an item exhausting its 6 retries (0.14^7 each) stays out of
	// reach. At 30 % that happened in about 4 % of runs.
	faults := graphsim.Faults{InternalError: 0.02, Unavailable: 0.05, GatewayTimeout: 0.05, Drop: 0.02, Seed: 7}
	c, sim, _ := simClient(t, graphsim.Options{TimeScale: 100, Faults: faults},
		Options{RetryDelay: 5 * time.Millisecond})
	res := c.Apply(context.Background(), creates(100))
	requireAllCreated(t, c, res, 100)
	assert.Positive(t, sim.Stats().Faults)

	// Deletes whose first answer was lost (504) still count as done.
	var deletes []plan.Action
	for _, r := range res {
		deletes = append(deletes, plan.Action{Kind: plan.Delete, ID: r.ID})
	}
	for i, r := range c.Apply(context.Background(), deletes) {
		require.Nil(t, r.Failure, "delete %d", i)
	}
	assert.Zero(t, sim.Stats().Users)
	assert.Equal(t, 100, sim.Stats().DeletedUsers)
}

func TestPerItemFailuresDoNotStopTheBatch(t *testing.T) {
	t.Parallel()
	c, _, _ := simClient(t, graphsim.Options{}, Options{})
	actions := creates(30)
	actions[3].Account.Properties["userPrincipalName"] = "x@unverified.example"
	actions[25].Account.Properties["userPrincipalName"] = actions[24].Account.Properties["userPrincipalName"]
	res := c.Apply(context.Background(), actions)
	require.Len(t, res, 30)
	for i, r := range res {
		assert.Equal(t, actions[i].Anchor, r.Action.Anchor)
		if i == 3 || i == 25 {
			require.NotNil(t, r.Failure, "action %d", i)
			assert.Equal(t, 400, r.Failure.Status)
			assert.Equal(t, "Request_BadRequest", r.Failure.Code)
			assert.Regexp(t, `^[0-9a-f-]{36}$`, r.Failure.RequestID)
			continue
		}
		assert.Nil(t, r.Failure, "action %d", i)
		assert.NotEmpty(t, r.ID)
	}
	assert.Equal(t, "Property userPrincipalName is invalid.", res[3].Failure.Message)
	assert.Contains(t, res[25].Failure.Message, "already exists")
}

func TestCancelledApplyRecordsEveryAction(t *testing.T) {
	t.Parallel()
	c, _, _ := simClient(t, graphsim.Options{}, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res := c.Apply(ctx, creates(5))
	require.Len(t, res, 5)
	for _, r := range res {
		require.NotNil(t, r.Failure)
		assert.Contains(t, r.Failure.Message, "not attempted")
	}
}

// BenchmarkCreate10000 creates 10,000 guests against the emulator with
// Graph's documented throttling, time-scaled 20× (the 3,000 writes per
// 150 s budget becomes 3,000 per 7.5 s), the client's budget scaled alike:
// about 18 s.
// Metrics: budget-fraction is writes divided by what the budget allows over
// the run (the full bucket plus its refill), throttled-% the share of
// requests answered 429, failed the objects not created.
//
//	GUESTSYNC_BENCH=1 go test -run '^$' -bench BenchmarkCreate10000 -benchtime 1x ./pkg/target/graph
func BenchmarkCreate10000(b *testing.B) {
	if os.Getenv("GUESTSYNC_BENCH") == "" {
		b.Skip("set GUESTSYNC_BENCH=1 (about 18 s)")
	}
	const n, scale = 10000, 20.0
	window := time.Duration(float64(150*time.Second) / scale)
	actions := creates(n)
	for b.Loop() {
		c, sim, _ := simClient(b, graphsim.Options{Throttle: graphsim.ThrottleDocumented, TimeScale: scale},
			Options{WriteBudget: 3000, WriteWindow: window})
		start := time.Now()
		res := c.Apply(context.Background(), actions)
		elapsed := time.Since(start)
		failed := 0
		for _, r := range res {
			if r.Failure != nil {
				failed++
			}
		}
		st := sim.Stats()
		allowed := 3000 + 3000*elapsed.Seconds()/window.Seconds()
		b.ReportMetric(float64(st.Writes)/allowed, "budget-fraction")
		b.ReportMetric(100*float64(st.Throttled)/float64(st.BatchItems), "throttled-%")
		b.ReportMetric(float64(failed), "failed")
		b.ReportMetric(float64(st.Writes)/elapsed.Seconds(), "writes/s")
	}
}

// TestBatchAnswered504IsRetriedBySendInBatches: a $batch carried out and
// answered 504 is sent again by sendInBatches, not by the SDK's retry
// handler, so its creates are known to be ambiguous: their "already
// exists" is confirmed as this run's own (no update sent, no failure),
// also when replication lag hides the new guests from the first lookups.
func TestBatchAnswered504IsRetriedBySendInBatches(t *testing.T) {
	t.Parallel()
	for _, lag := range []time.Duration{0, 300 * time.Millisecond} {
		t.Run(fmt.Sprintf("lag %v", lag), func(t *testing.T) {
			t.Parallel()
			sim := graphsim.New(graphsim.Options{VerifiedDomains: []string{"partners.contoso.com"}, Token: "t0ken",
				Faults: graphsim.Faults{Lag: lag}})
			var posts, sent, patches atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method != http.MethodPost || !strings.HasSuffix(r.URL.Path, "/$batch") {
					sim.ServeHTTP(w, r)
					return
				}
				body, err := io.ReadAll(r.Body)
				require.NoError(t, err)
				sent.Add(int32(strings.Count(string(body), `"method":"POST","url":"/users"`)))
				patches.Add(int32(strings.Count(string(body), `"method":"PATCH"`)))
				r.Body = io.NopCloser(bytes.NewReader(body))
				if posts.Add(1) == 1 {
					sim.ServeHTTP(httptest.NewRecorder(), r) // carried out...
					w.WriteHeader(http.StatusGatewayTimeout) // ...and the answer lost
					return
				}
				sim.ServeHTTP(w, r)
			}))
			t.Cleanup(srv.Close)
			c, err := New(Options{URL: srv.URL + "/v1.0", Credential: StaticToken("t0ken"), RetryDelay: 5 * time.Millisecond})
			require.NoError(t, err)
			res := c.Apply(context.Background(), creates(5))
			requireAllCreated(t, c, res, 5)
			// The SDK's handler would have resent the batch itself (up to 3
			// times) with the ops not known as ambiguous: their conflicts
			// would then be taken for an earlier run's guests and updated.
			assert.Equal(t, int32(10), sent.Load(), "each create sent twice: the batch and sendInBatches' one resend")
			assert.Zero(t, patches.Load(), "confirmed as this run's creates, not updated as an earlier run's")
			assert.Equal(t, 5, sim.Stats().Users)
		})
	}
}
