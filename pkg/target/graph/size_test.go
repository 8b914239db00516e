package graph

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/guestsync/guestsync/pkg/graphsim"
	"github.com/guestsync/guestsync/pkg/plan"
)

// requests is how many top-level requests the emulator answered.
func (t *tally) requests() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := 0
	for _, v := range t.n {
		n += v
	}
	return n
}

// employeeType is a property without a documented maximum length: only
// the request size limit holds it back.
func withEmployeeType(a plan.Action, n int) plan.Action {
	a.Account.Properties["employeeType"] = strings.Repeat("x", n)
	return a
}

func TestOversizedObjectFailsAloneAndItsNeighboursSucceed(t *testing.T) {
	t.Parallel()
	c, sim, tl := simClient(t, graphsim.Options{}, Options{})
	actions := creates(20)
	actions[7] = withEmployeeType(actions[7], 5<<20)
	res := c.Apply(context.Background(), actions)
	require.Len(t, res, 20)
	for i, r := range res {
		if i == 7 {
			require.NotNil(t, r.Failure, "the oversized create fails")
			assert.Equal(t, "POST /users is 5.0 MB, over the 3.0 MB guestsync sends in one request "+
				"(Graph refuses requests over 4 MB); its largest property is employeeType (5242880 characters)", r.Failure.Message)
			continue
		}
		assert.Nil(t, r.Failure, "action %d", i)
	}
	assert.Zero(t, tl.get("POST 413"), "no request Graph would refuse as too large is sent")
	assert.Equal(t, 19, sim.Stats().Users)
}

func TestBatchesAreCutBySizeAsWellAsCount(t *testing.T) {
	t.Parallel()
	c, sim, tl := simClient(t, graphsim.Options{}, Options{})
	// 20 creates of 400 KB each: 8 MB in all, twice what one request to
	// Graph may carry.
	actions := creates(20)
	for i := range actions {
		actions[i] = withEmployeeType(actions[i], 400<<10)
	}
	res := c.Apply(context.Background(), actions)
	requireAllCreated(t, c, res, 20)
	assert.Zero(t, tl.get("POST 413"))
	assert.GreaterOrEqual(t, sim.Stats().Batches, 3, "8 MB go in batches of at most 3 MB")
}

func TestPropertyLimitsAreCheckedBeforeAnyRequest(t *testing.T) {
	t.Parallel()
	long := func(n int) string { return strings.Repeat("a", n) }
	for _, tc := range []struct {
		name  string
		props map[string]string
		want  string
	}{
		{"displayName", map[string]string{"displayName": long(300)}, "displayName is 300 characters; Graph allows at most 256"},
		{"displayName in characters, not bytes", map[string]string{"displayName": strings.Repeat("é", 257)}, "displayName is 257 characters; Graph allows at most 256"},
		{"mailNickname", map[string]string{"mailNickname": long(65)}, "mailNickname is 65 characters; Graph allows at most 64"},
		{"companyName", map[string]string{"companyName": long(65)}, "companyName is 65 characters; Graph allows at most 64"},
		{"employeeId", map[string]string{"employeeId": long(17)}, "employeeId is 17 characters; Graph allows at most 16"},
		{"UPN", map[string]string{"userPrincipalName": long(64) + "@" + long(49) + ".com"}, "userPrincipalName is 118 characters; Graph allows at most 113"},
		{"UPN alias", map[string]string{"userPrincipalName": long(65) + "@partners.contoso.com"}, "userPrincipalName has 65 characters before the @; Graph allows at most 64"},
		{"UPN domain", map[string]string{"userPrincipalName": "zoe@" + long(45) + ".com"}, "userPrincipalName has 49 characters after the @; Graph allows at most 48"},
		{"UPN two @", map[string]string{"userPrincipalName": "zoe@x@partners.contoso.com"}, "userPrincipalName must be alias@domain with exactly one @"},
		{"UPN dot before @", map[string]string{"userPrincipalName": "zoe.@partners.contoso.com"}, "userPrincipalName has a '.' right before the @, which Graph does not allow"},
		{"UPN character", map[string]string{"userPrincipalName": "zoé@partners.contoso.com"}, "userPrincipalName contains 'é' before the @; Graph allows only A-Z a-z 0-9 ' . - _ ! # ^ ~ there"},
		{"mailNickname character", map[string]string{"mailNickname": "zoe smith"}, "mailNickname contains ' ', which Graph does not allow (@ ( ) \\ [ ] \" ; : < > , and space)"},
		{"usageLocation", map[string]string{"usageLocation": "D1"}, "usageLocation must be a two-letter country code (ISO 3166), not \"D1\""},
		{"accountEnabled", map[string]string{"accountEnabled": "yes"}, "accountEnabled must be true or false, not \"yes\""},
		{"all problems at once, by name", map[string]string{"displayName": long(257), "companyName": long(65)},
			"companyName is 65 characters; Graph allows at most 64; displayName is 257 characters; Graph allows at most 256"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, _, tl := simClient(t, graphsim.Options{}, Options{})
			good := creates(3)
			bad := create("QkFEQkFEQkFEQkFEQkFEQg==", "bad")
			for k, v := range tc.props {
				bad.Account.Properties[k] = v
			}
			upd := plan.Action{Kind: plan.Update, ID: "00000000-0000-0000-0000-000000000001"}
			for k, v := range tc.props {
				upd.Changes = append(upd.Changes, plan.Change{Property: k, New: v})
			}
			res := c.Apply(context.Background(), []plan.Action{bad, upd})
			require.Len(t, res, 2)
			for _, r := range res {
				require.NotNil(t, r.Failure, "%s", r.Action.Kind)
				assert.Equal(t, tc.want, r.Failure.Message, "%s", r.Action.Kind)
			}
			assert.Zero(t, tl.requests(), "the objects fail before any request is built")

			// The same bad object among good ones fails alone.
			res = c.Apply(context.Background(), append(good, bad))
			require.Len(t, res, 4)
			for i, r := range res[:3] {
				assert.Nil(t, r.Failure, "action %d", i)
			}
			require.NotNil(t, res[3].Failure)
			assert.Equal(t, tc.want, res[3].Failure.Message)
		})
	}
}

// TestBatchRefusedAsTooLargeIsSentOneByOne: a Graph that counts a request's
// size differently (here: refuses any $batch over 1 MB, with the answer
// Graph was seen to give) fails only the object that is too big for it.
func TestBatchRefusedAsTooLargeIsSentOneByOne(t *testing.T) {
	t.Parallel()
	sim := graphsim.New(graphsim.Options{VerifiedDomains: []string{"partners.contoso.com"}, Token: "t0ken"})
	var refused atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		if strings.HasSuffix(r.URL.Path, "/$batch") && len(body) > 1<<20 {
			refused.Add(1)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"error":{"code":"BadRequest","message":"Maximum request length exceeded.","innerError":{"request-id":"r-1","date":"2026-01-01T00:00:00"}}}`)
			return
		}
		sim.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	c, err := New(Options{URL: srv.URL + "/v1.0", Credential: StaticToken("t0ken")})
	require.NoError(t, err)

	actions := creates(8)
	for i := range actions {
		actions[i] = withEmployeeType(actions[i], 300<<10)
	}
	actions[5] = withEmployeeType(actions[5], 1500<<10)
	res := c.Apply(context.Background(), actions)
	require.Len(t, res, 8)
	for i, r := range res {
		if i == 5 {
			require.NotNil(t, r.Failure)
			assert.Equal(t, "Graph refused POST /users as too large (Maximum request length exceeded.); its largest property is employeeType (1536000 characters)", r.Failure.Message)
			continue
		}
		assert.Nil(t, r.Failure, "action %d", i)
	}
	assert.Positive(t, int(refused.Load()))
	assert.Equal(t, 7, sim.Stats().Users)
}

func TestAnswersCannotStallOrFloodARun(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		header string
		want   time.Duration
	}{
		{"2.5", 2500 * time.Millisecond},
		{"1e9", maxRetryAfter},
		{"Inf", maxRetryAfter},
		{"NaN", 0},
		{"-3", 0},
		{"soon", 0},
	} {
		assert.Equal(t, tc.want, retryAfter(tc.header), "Retry-After %q", tc.header)
	}
	huge := strings.Repeat("é", 1<<20)
	f := itemFailure(batchAnswer{Status: 400, Body: []byte(`{"error":{"code":"X","message":"` + huge + `"}}`)})
	assert.Equal(t, strings.Repeat("é", maxGraphMessage)+"… (1048576 characters in all)", f.Message)
	f = itemFailure(batchAnswer{Status: 400, Body: []byte(`{"error":{"code":"X","message":""}}`)})
	assert.Equal(t, "Bad Request", f.Message, "an empty message keeps the status text")
}
