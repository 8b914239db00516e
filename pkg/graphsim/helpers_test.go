package graphsim_test

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/guestsync/guestsync/pkg/graphsim"
)

const testToken = "test-token"

// Verified domains at and just over the 48-character limit after the @.
var (
	domain48 = strings.Repeat("a", 44) + ".com"
	domain49 = strings.Repeat("b", 45) + ".com"
)

var guidPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func fixedNow() time.Time { return time.Date(2026, 11, 24, 1, 2, 3, 0, time.UTC) }

type tenant struct {
	t   *testing.T
	sim *graphsim.Server
	srv *httptest.Server
}

func newTenant(t *testing.T) *tenant {
	t.Helper()
	sim := graphsim.New(graphsim.Options{
		VerifiedDomains: []string{"contoso.com", "Contoso.onmicrosoft.com", domain48, domain49},
		Token:           testToken,
		Now:             fixedNow,
		TenantID:        "11111111-2222-4333-8444-555555555555",
	})
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return &tenant{t: t, sim: sim, srv: srv}
}

// as returns the tenant with t as the test to fail, for use in subtests.
func (tn *tenant) as(t *testing.T) *tenant {
	c := *tn
	c.t = t
	return &c
}

type response struct {
	status int
	header http.Header
	body   []byte
}

// request sends method path with body (nil, []byte sent as-is, or a value
// marshalled to JSON) and headers given as name, value pairs.
func (tn *tenant) request(method, path string, body any, headers ...string) *response {
	tn.t.Helper()
	var rdr io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rdr = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		require.NoError(tn.t, err)
		rdr = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, tn.srv.URL+path, rdr)
	require.NoError(tn.t, err)
	req.Header.Set("Authorization", "Bearer "+testToken)
	if rdr != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			req.Header.Del(headers[i])
			continue
		}
		req.Header.Set(headers[i], headers[i+1])
	}
	return tn.send(req)
}

func (tn *tenant) send(req *http.Request) *response {
	tn.t.Helper()
	resp, err := http.DefaultClient.Do(req)
	require.NoError(tn.t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(tn.t, err)
	return &response{status: resp.StatusCode, header: resp.Header, body: raw}
}

func (tn *tenant) get(path string, headers ...string) *response {
	tn.t.Helper()
	return tn.request(http.MethodGet, path, nil, headers...)
}

func (r *response) object(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(r.body, &m), "body: %s", r.body)
	return m
}

// graphErr is the decoded error body.
type graphErr struct {
	Code       string `json:"code"`
	Message    string `json:"message"`
	Details    []struct{ Code, Message, Target string }
	InnerError struct {
		Date            string `json:"date"`
		RequestID       string `json:"request-id"`
		ClientRequestID string `json:"client-request-id"`
	} `json:"innerError"`
}

func (r *response) graphError(t *testing.T) graphErr {
	t.Helper()
	var body struct{ Error graphErr }
	require.NoError(t, json.Unmarshal(r.body, &body), "body: %s", r.body)
	require.NotEmpty(t, body.Error.Code, "body: %s", r.body)
	return body.Error
}

// requireError asserts status, code and message of an error response.
func requireError(t *testing.T, r *response, status int, code, message string) graphErr {
	t.Helper()
	require.Equal(t, status, r.status, "body: %s", r.body)
	e := r.graphError(t)
	require.Equal(t, code, e.Code)
	require.Equal(t, message, e.Message)
	return e
}

// newUser is a valid create body; overrides replace (or, when nil, delete)
// properties.
func newUser(alias string, overrides map[string]any) map[string]any {
	u := map[string]any{
		"accountEnabled":    true,
		"displayName":       "User " + alias,
		"mailNickname":      alias,
		"userPrincipalName": alias + "@contoso.com",
		"passwordProfile":   map[string]any{"password": "Passw0rd!x", "forceChangePasswordNextSignIn": false},
	}
	for k, v := range overrides {
		if v == nil {
			delete(u, k)
			continue
		}
		u[k] = v
	}
	return u
}

// create posts body and requires 201, returning the created user.
func (tn *tenant) create(body map[string]any) map[string]any {
	tn.t.Helper()
	r := tn.request(http.MethodPost, "/v1.0/users", body)
	require.Equal(tn.t, http.StatusCreated, r.status, "body: %s", r.body)
	return r.object(tn.t)
}

func gzipped(t *testing.T, v any) []byte {
	t.Helper()
	raw, err := json.Marshal(v)
	require.NoError(t, err)
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, err = zw.Write(raw)
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

// keys returns the sorted property names of a JSON object, without
// annotations.
func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		if !strings.HasPrefix(k, "@") {
			out = append(out, k)
		}
	}
	return out
}

// newTenantWith is newTenant with more options; zero fields of opts take
// newTenant's values, except Token: empty accepts any token, so that tests
// can act as several applications.
func newTenantWith(t *testing.T, opts graphsim.Options) *tenant {
	t.Helper()
	if opts.VerifiedDomains == nil {
		opts.VerifiedDomains = []string{"contoso.com", "Contoso.onmicrosoft.com"}
	}
	if opts.TenantID == "" {
		opts.TenantID = "11111111-2222-4333-8444-555555555555"
	}
	if opts.Now == nil {
		opts.Now = fixedNow
	}
	sim := graphsim.New(opts)
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	return &tenant{t: t, sim: sim, srv: srv}
}

// clock is a settable clock for Options.Now.
type clock = graphsim.SteppedClock

func newClock() *clock { return graphsim.NewSteppedClock(fixedNow()) }

// follow GETs an absolute link returned by the emulator.
func (tn *tenant) follow(link string, headers ...string) *response {
	tn.t.Helper()
	require.True(tn.t, strings.HasPrefix(link, tn.srv.URL+"/v1.0/"), "link %q is absolute", link)
	return tn.get(strings.TrimPrefix(link, tn.srv.URL), headers...)
}

// ids lists the "id" of each object of a collection response.
func ids(t *testing.T, r *response) []string {
	t.Helper()
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	var out []string
	for _, v := range r.object(t)["value"].([]any) {
		out = append(out, v.(map[string]any)["id"].(string))
	}
	return out
}
