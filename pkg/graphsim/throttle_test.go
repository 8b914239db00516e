package graphsim_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/guestsync/guestsync/pkg/graphsim"
)

const tenantID = "11111111-2222-4333-8444-555555555555"

func TestResourceUnitCosts(t *testing.T) {
	t.Parallel()
	tn := newTenantWith(t, graphsim.Options{Throttle: graphsim.ThrottleDocumented})
	id := tn.create(newUser("cost", nil))["id"].(string)
	g := tn.group("cost")
	sp := tn.app("Cost")["id"].(string)
	tests := []struct {
		name, method, path string
		body               any
		units              string
	}{
		{"GET users", "GET", "/v1.0/users", nil, "2"},
		{"GET users $select", "GET", "/v1.0/users?$select=id", nil, "1"},
		{"GET users $top<20", "GET", "/v1.0/users?$top=5", nil, "1"},
		{"GET users $top>=20", "GET", "/v1.0/users?$top=20", nil, "2"},
		{"never below 1", "GET", "/v1.0/users?$top=5&$select=id", nil, "1"},
		{"GET a user", "GET", "/v1.0/users/" + id, nil, "1"},
		{"GET delta", "GET", "/v1.0/users/delta", nil, "1"},
		{"GET organization", "GET", "/v1.0/organization", nil, "1"},
		{"PATCH", "PATCH", "/v1.0/users/" + id, map[string]any{"jobTitle": "x"}, "1"},
		{"errors are charged too", "GET", "/v1.0/users/nobody@contoso.com", nil, "1"},
		{"GET groups", "GET", "/v1.0/groups", nil, "2"},
		{"GET a group", "GET", "/v1.0/groups/" + g, nil, "1"},
		{"GET members", "GET", "/v1.0/groups/" + g + "/members?$select=id", nil, "1"},
		{"GET transitiveMembers", "GET", "/v1.0/groups/" + g + "/transitiveMembers", nil, "2"},
		{"GET groups/delta", "GET", "/v1.0/groups/delta", nil, "1"},
		{"GET appRoleAssignedTo", "GET", "/v1.0/servicePrincipals/" + sp + "/appRoleAssignedTo", nil, "2"},
		{"GET servicePrincipals", "GET", "/v1.0/servicePrincipals", nil, "2"},
		{"POST members/$ref", "POST", "/v1.0/groups/" + g + "/members/$ref", memberRef(id), "1"},
		{"invitations are another service", "POST", "/v1.0/invitations", invitation("c@d.example", nil), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tn.as(t).request(tt.method, tt.path, tt.body)
			assert.Less(t, r.status, 500)
			assert.Equal(t, tt.units, r.header.Get("x-ms-resource-unit"))
			assert.Empty(t, r.header.Get("x-ms-throttle-limit-percentage"), "far from the limit")
		})
	}
}

var scopePattern = regexp.MustCompile(`^(Tenant_Application|Tenant)/(ReadWrite|Write)/([0-9a-f-]{36})/` + tenantID + `$`)

func TestWriteBudgetPerAppAndTenant(t *testing.T) {
	t.Parallel()
	clk := newClock()
	tn := newTenantWith(t, graphsim.Options{Now: clk.Now, Throttle: graphsim.ThrottleDocumented,
		Budgets: graphsim.Budgets{AppWrites: 3, TenantWrites: 4}})

	var percentages []string
	for i := range 3 {
		r := tn.request(http.MethodPost, "/v1.0/users", newUser(fmt.Sprintf("w%d", i), nil))
		require.Equal(t, http.StatusCreated, r.status, "body: %s", r.body)
		percentages = append(percentages, r.header.Get("x-ms-throttle-limit-percentage"))
	}
	assert.Equal(t, []string{"", "", "1.00"}, percentages, "reported above 0.8 of the limit")

	r := tn.request(http.MethodPost, "/v1.0/users", newUser("w3", nil))
	requireError(t, r, http.StatusTooManyRequests, "TooManyRequests", "Please retry again later.")
	// 3 writes per 150 s refill one write every 50 s.
	assert.Equal(t, "50", r.header.Get("Retry-After"))
	scope := scopePattern.FindStringSubmatch(r.header.Get("x-ms-throttle-scope"))
	require.NotNil(t, scope, "scope %q", r.header.Get("x-ms-throttle-scope"))
	assert.Equal(t, []string{"Tenant_Application", "Write"}, scope[1:3])
	assert.Equal(t, "WriteLimitExceeded", r.header.Get("x-ms-throttle-information"))
	assert.Equal(t, "1.33", r.header.Get("x-ms-throttle-limit-percentage"))
	assert.Equal(t, "1", r.header.Get("x-ms-resource-unit"))
	assert.Equal(t, http.StatusOK, tn.get("/v1.0/users").status, "reads have their own budget")

	// Another token is another application with its own budget, but the
	// tenant's budget for all applications is shared.
	other := []string{"Authorization", "Bearer another-app"}
	assert.Equal(t, http.StatusCreated, tn.request(http.MethodPost, "/v1.0/users", newUser("o1", nil), other...).status)
	r = tn.request(http.MethodPost, "/v1.0/users", newUser("o2", nil), other...)
	require.Equal(t, http.StatusTooManyRequests, r.status)
	otherScope := scopePattern.FindStringSubmatch(r.header.Get("x-ms-throttle-scope"))
	require.NotNil(t, otherScope)
	assert.Equal(t, []string{"Tenant", "Write"}, otherScope[1:3])
	assert.NotEqual(t, scope[3], otherScope[3], "two tokens, two application ids")
	assert.Equal(t, "75", r.header.Get("Retry-After"), "4 writes per 5 min refill one every 75 s")

	clk.Advance(50 * time.Second)
	r = tn.request(http.MethodPost, "/v1.0/users", newUser("w3", nil))
	require.Equal(t, http.StatusTooManyRequests, r.status, "the app budget refilled, the tenant's not yet")
	assert.Equal(t, "25", r.header.Get("Retry-After"))
	clk.Advance(25 * time.Second)
	assert.Equal(t, http.StatusCreated, tn.request(http.MethodPost, "/v1.0/users", newUser("w3", nil)).status,
		"honouring Retry-After lets the write through")
	assert.Equal(t, 3, tn.sim.Stats().Throttled)
}

func TestResourceUnitBudgetAndTimeScale(t *testing.T) {
	t.Parallel()
	clk := newClock()
	tn := newTenantWith(t, graphsim.Options{Now: clk.Now, Throttle: graphsim.ThrottleDocumented, TimeScale: 10,
		Budgets: graphsim.Budgets{ResourceUnits: 4}})
	require.Equal(t, http.StatusOK, tn.get("/v1.0/users").status)
	require.Equal(t, http.StatusOK, tn.get("/v1.0/users").status)
	r := tn.get("/v1.0/users")
	require.Equal(t, http.StatusTooManyRequests, r.status)
	// 4 units per 10 s refill 2 units in 5 s; ten times faster: 0.5 s.
	assert.Equal(t, "0.5", r.header.Get("Retry-After"))
	assert.Regexp(t, `^Tenant_Application/ReadWrite/`, r.header.Get("x-ms-throttle-scope"))
	assert.Equal(t, "ResourceUnitLimitExceeded", r.header.Get("x-ms-throttle-information"))
	r = tn.get("/v1.0/users?$select=id")
	require.Equal(t, http.StatusTooManyRequests, r.status, "nothing left, even for a 1-unit read")
	assert.Equal(t, "0.25", r.header.Get("Retry-After"))
	clk.Advance(500 * time.Millisecond)
	assert.Equal(t, http.StatusOK, tn.get("/v1.0/users").status)
}

func TestInvitationBudget(t *testing.T) {
	t.Parallel()
	clk := newClock()
	tn := newTenantWith(t, graphsim.Options{Now: clk.Now, Throttle: graphsim.ThrottleDocumented,
		Budgets: graphsim.Budgets{Invitations: 2}})
	tn.invite(invitation("a@x.example", nil))
	tn.invite(invitation("b@x.example", nil))
	r := tn.request(http.MethodPost, "/v1.0/invitations", invitation("c@x.example", nil))
	requireError(t, r, http.StatusTooManyRequests, "TooManyRequests", "Please retry again later.")
	assert.Equal(t, "2.5", r.header.Get("Retry-After"), "2 requests per 5 s")
	assert.Regexp(t, `^Tenant/ReadWrite/`, r.header.Get("x-ms-throttle-scope"))
}

func TestThrottleOffByDefault(t *testing.T) {
	t.Parallel()
	tn := newTenantWith(t, graphsim.Options{Budgets: graphsim.Budgets{AppWrites: 1}})
	for i := range 3 {
		assert.Equal(t, http.StatusCreated, tn.request(http.MethodPost, "/v1.0/users", newUser(fmt.Sprintf("f%d", i), nil)).status)
	}
}

// TestThrottleStorm: concurrent writers against a small, time-scaled
// budget are throttled, and honouring Retry-After gets every write through.
func TestThrottleStorm(t *testing.T) {
	t.Parallel()
	const writers, each = 8, 5
	// 10 writes per 150 s at a time scale of 150: 10 writes per second.
	tn := newTenantWith(t, graphsim.Options{Now: time.Now, Throttle: graphsim.ThrottleDocumented, TimeScale: 150,
		Budgets: graphsim.Budgets{AppWrites: 10}})

	var mu sync.Mutex
	var retryAfters []float64
	var failures []string
	var wg sync.WaitGroup
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				body, _ := json.Marshal(newUser(fmt.Sprintf("s%d-%d", w, i), nil))
				for attempt := 0; ; attempt++ {
					if attempt == 100 {
						mu.Lock()
						failures = append(failures, "too many attempts")
						mu.Unlock()
						return
					}
					req, _ := http.NewRequest(http.MethodPost, tn.srv.URL+"/v1.0/users", bytes.NewReader(body))
					req.Header.Set("Authorization", "Bearer "+testToken)
					resp, err := http.DefaultClient.Do(req)
					if err != nil {
						mu.Lock()
						failures = append(failures, err.Error())
						mu.Unlock()
						return
					}
					resp.Body.Close()
					if resp.StatusCode == http.StatusCreated {
						break
					}
					secs, err := strconv.ParseFloat(resp.Header.Get("Retry-After"), 64)
					mu.Lock()
					if resp.StatusCode != http.StatusTooManyRequests || err != nil {
						failures = append(failures, fmt.Sprintf("status %d, Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After")))
						mu.Unlock()
						return
					}
					retryAfters = append(retryAfters, secs)
					mu.Unlock()
					time.Sleep(time.Duration(secs * float64(time.Second)))
				}
			}
		}()
	}
	wg.Wait()
	require.Empty(t, failures)
	st := tn.sim.Stats()
	assert.Equal(t, writers*each, st.Users, "every write got through")
	assert.Equal(t, len(retryAfters), st.Throttled)
	require.NotEmpty(t, retryAfters, "the storm was throttled")
	for _, s := range retryAfters {
		assert.Greater(t, s, 0.0)
		assert.LessOrEqual(t, s, 1.0, "never longer than the scaled window")
	}
}
