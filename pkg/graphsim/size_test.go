package graphsim_test

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// body is a JSON object of exactly n bytes: a displayName padded to fit.
func body(n int) []byte {
	const head, tail = `{"displayName":"`, `"}`
	return []byte(head + strings.Repeat("a", n-len(head)-len(tail)) + tail)
}

func TestOversizedRequestIsRefusedLikeGraph(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	id := tn.create(newUser("zoe", nil))["id"].(string)
	var zipped bytes.Buffer
	zw := gzip.NewWriter(&zipped)
	_, _ = zw.Write(body(5 << 20))
	require.NoError(t, zw.Close())

	for _, tc := range []struct {
		name, method, path string
		body               []byte
		headers            []string
	}{
		{"create", http.MethodPost, "/v1.0/users", body(5 << 20), nil},
		{"one byte over", http.MethodPost, "/v1.0/users", body(4<<20 + 1), nil},
		{"update", http.MethodPatch, "/v1.0/users/" + id, body(5 << 20), nil},
		{"batch", http.MethodPost, "/v1.0/$batch", body(5 << 20), nil},
		{"invitation", http.MethodPost, "/v1.0/invitations", body(5 << 20), nil},
		{"gzip that inflates past the limit", http.MethodPost, "/v1.0/users", zipped.Bytes(), []string{"Content-Encoding", "gzip"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := tn.as(t).request(tc.method, tc.path, tc.body, tc.headers...)
			e := requireError(t, r, http.StatusRequestEntityTooLarge, "BadRequest", "Maximum request length exceeded.")
			assert.NotEmpty(t, e.InnerError.RequestID, "Graph's error body, with its request id")
			assert.NotEmpty(t, e.InnerError.Date)
			assert.Equal(t, "application/json", strings.Split(r.header.Get("Content-Type"), ";")[0])
		})
	}
	// At the limit the body is read and judged on its content.
	r := tn.request(http.MethodPatch, "/v1.0/users/"+id, body(4<<20))
	requireError(t, r, http.StatusBadRequest, "Request_BadRequest", "Invalid value specified for property 'displayName' of resource 'User'.")
	assert.Equal(t, 1, tn.sim.Stats().Users, "nothing refused was carried out")
}
