package graphsim_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/guestsync/guestsync/pkg/graphsim"
)

func TestParseFaults(t *testing.T) {
	t.Parallel()
	tests := []struct {
		spec    string
		want    graphsim.Faults
		wantErr string
	}{
		{"", graphsim.Faults{}, ""},
		{"500=0.01,503=0.02,504=0.01,drop=0.005,latency=20ms,lag=2s,seed=7", graphsim.Faults{InternalError: 0.01,
			Unavailable: 0.02, GatewayTimeout: 0.01, Drop: 0.005, Latency: 20 * time.Millisecond, Lag: 2 * time.Second, Seed: 7}, ""},
		{" LAG = 1m , ", graphsim.Faults{Lag: time.Minute}, ""},
		{"500=2", graphsim.Faults{}, "fault 500=2: want a probability between 0 and 1"},
		{"503=x", graphsim.Faults{}, "fault 503=x: want a probability between 0 and 1"},
		{"500=0.6,503=0.6", graphsim.Faults{}, "fault probabilities 500+503+504 add up to 1.2, more than 1"},
		{"lag=-1s", graphsim.Faults{}, "fault lag=-1s: want a non-negative duration such as 20ms or 2s"},
		{"latency=soon", graphsim.Faults{}, "fault latency=soon: want a non-negative duration such as 20ms or 2s"},
		{"429=0.1", graphsim.Faults{}, `unknown fault "429" (want 500, 503, 504, drop, latency, lag or seed)`},
		{"drop", graphsim.Faults{}, `fault "drop": want key=value`},
		{"lag=1s,lag=2s", graphsim.Faults{}, `fault "lag" given twice`},
		{"seed=-3", graphsim.Faults{}, `fault seed=-3: strconv.ParseUint: parsing "-3": invalid syntax`},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			t.Parallel()
			got, err := graphsim.ParseFaults(tt.spec)
			if tt.wantErr != "" {
				assert.EqualError(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
			again, err := graphsim.ParseFaults(got.String())
			require.NoError(t, err)
			assert.Equal(t, got, again, "String round-trips")
		})
	}
}

// statusSequence sends n GETs to a fresh tenant with faults f.
func statusSequence(t *testing.T, f graphsim.Faults, n int) ([]int, *tenant) {
	tn := newTenantWith(t, graphsim.Options{Faults: f})
	var out []int
	for range n {
		out = append(out, tn.get("/v1.0/users").status)
	}
	return out, tn
}

func TestFaultInjectionIsReproducible(t *testing.T) {
	t.Parallel()
	f := graphsim.Faults{InternalError: 0.2, Unavailable: 0.2, GatewayTimeout: 0.1, Seed: 42}
	first, tn := statusSequence(t, f, 40)
	second, _ := statusSequence(t, f, 40)
	assert.Equal(t, first, second, "the same seed injects the same faults")
	count := map[int]int{}
	for _, s := range first {
		count[s]++
	}
	assert.Positive(t, count[500])
	assert.Positive(t, count[503])
	assert.Positive(t, count[504])
	assert.Positive(t, count[200])
	assert.Equal(t, 40-count[200], tn.sim.Stats().Faults)

	other, _ := statusSequence(t, graphsim.Faults{InternalError: 0.2, Unavailable: 0.2, GatewayTimeout: 0.1, Seed: 43}, 40)
	assert.NotEqual(t, first, other, "another seed, other faults")
}

func TestFaultBodies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		faults     graphsim.Faults
		status     int
		code, msg  string
		retryAfter string
	}{
		{"500", graphsim.Faults{InternalError: 1}, 500, "generalException", "An unspecified error has occurred.", ""},
		{"503", graphsim.Faults{Unavailable: 1}, 503, "serviceNotAvailable",
			"The service is not available. Try the request again after a delay. There may be a Retry-After header.", "0.5"},
		{"504", graphsim.Faults{GatewayTimeout: 1}, 504, "GatewayTimeout",
			"The gateway did not receive a timely response from the upstream server.", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tn := newTenantWith(t, graphsim.Options{Faults: tt.faults, TimeScale: 10})
			r := tn.request(http.MethodPost, "/v1.0/users", newUser("f", nil))
			e := requireError(t, r, tt.status, tt.code, tt.msg)
			assert.Equal(t, r.header.Get("request-id"), e.InnerError.RequestID)
			assert.Equal(t, tt.retryAfter, r.header.Get("Retry-After"))
			st := tn.sim.Stats()
			assert.Equal(t, 1, st.Faults)
			assert.Equal(t, 0, st.Writes, "a failed answer is not a successful write")
			if tt.status == 504 {
				assert.Equal(t, 1, st.Users, "behind a gateway timeout the write happened")
			} else {
				assert.Equal(t, 0, st.Users, "500 and 503 fail before the write")
			}
		})
	}
}

func TestDroppedConnection(t *testing.T) {
	t.Parallel()
	tn := newTenantWith(t, graphsim.Options{Faults: graphsim.Faults{Drop: 1}})
	req, err := http.NewRequest(http.MethodGet, tn.srv.URL+"/v1.0/users", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+testToken)
	_, err = http.DefaultClient.Do(req)
	require.Error(t, err, "no answer at all")
	assert.Equal(t, 1, tn.sim.Stats().Faults)
	assert.Equal(t, http.StatusOK, tn.get("/_graphsim/state").status, "the emulator's own endpoint is never faulted")
}

func TestBatchItemsDrawTheirOwnFaults(t *testing.T) {
	t.Parallel()
	tn := newTenantWith(t, graphsim.Options{Faults: graphsim.Faults{Unavailable: 0.5, Seed: 1}})
	var reqs []map[string]any
	for i := range 20 {
		reqs = append(reqs, map[string]any{"id": fmt.Sprint(i), "method": "GET", "url": "/organization"})
	}
	r := tn.request(http.MethodPost, "/v1.0/$batch", map[string]any{"requests": reqs})
	require.Equal(t, http.StatusOK, r.status, "the batch itself is not faulted: %s", r.body)
	count := map[float64]int{}
	for _, it := range r.object(t)["responses"].([]any) {
		item := it.(map[string]any)
		count[item["status"].(float64)]++
		if item["status"].(float64) == 503 {
			assert.Equal(t, "5", item["headers"].(map[string]any)["Retry-After"])
		}
	}
	assert.Positive(t, count[503])
	assert.Positive(t, count[200])
}

func TestReplicationLag(t *testing.T) {
	t.Parallel()
	clk := newClock()
	// 4 s of lag at a time scale of 2 last 2 s.
	tn := newTenantWith(t, graphsim.Options{Now: clk.Now, TimeScale: 2, Faults: graphsim.Faults{Lag: 4 * time.Second}})
	id := tn.create(newUser("lag", nil))["id"].(string)
	guest := tn.invite(invitation("lagging@partner.example", nil))["invitedUser"].(map[string]any)["id"].(string)

	for _, key := range []string{id, "lag@contoso.com", guest} {
		notFound := "Resource '" + key + "' does not exist or one of its queried reference-property objects are not present."
		requireError(t, tn.get("/v1.0/users/"+key), 404, "Request_ResourceNotFound", notFound)
		requireError(t, tn.request(http.MethodPatch, "/v1.0/users/"+key, map[string]any{"jobTitle": "x"}), 404,
			"Request_ResourceNotFound", notFound)
	}
	assert.Empty(t, ids(t, tn.get("/v1.0/users")), "lists do not show it yet")
	assert.Equal(t, "0", string(tn.get("/v1.0/users/$count", "ConsistencyLevel", "eventual").body))
	requireError(t, tn.request(http.MethodPost, "/v1.0/users", newUser("lag", nil)), 400, "Request_BadRequest",
		"Another object with the same value for property userPrincipalName already exists.")

	clk.Advance(2 * time.Second)
	assert.Equal(t, http.StatusOK, tn.get("/v1.0/users/"+id).status)
	assert.Equal(t, http.StatusNoContent, tn.request(http.MethodPatch, "/v1.0/users/"+guest, map[string]any{"jobTitle": "x"}).status)
	assert.ElementsMatch(t, []string{id, guest}, ids(t, tn.get("/v1.0/users")))
	assert.Equal(t, http.StatusNoContent, tn.request(http.MethodDelete, "/v1.0/users/"+id, nil).status)
}
