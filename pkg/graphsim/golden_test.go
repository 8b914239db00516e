package graphsim_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/guestsync/guestsync/pkg/graphsim"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata")

var (
	anyGUID = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	ticket  = regexp.MustCompile(`ticket%3D[^"%]+`)
	// deltaKey is the instance's random signing key in a snapshot.
	deltaKey = regexp.MustCompile(`"deltaKey": "[^"]*"`)
)

// normalize replaces what changes from run to run: GUIDs (numbered by first
// appearance, the fixed tenant id kept), the redeem ticket and the port.
func normalize(tn *tenant, text string) string {
	text = strings.ReplaceAll(text, tn.srv.URL, "http://graphsim.test")
	text = ticket.ReplaceAllString(text, "ticket%3D<ticket>")
	text = deltaKey.ReplaceAllString(text, `"deltaKey": "<key>"`)
	seen := map[string]string{}
	return anyGUID.ReplaceAllStringFunc(text, func(g string) string {
		if g == tenantID {
			return g
		}
		if _, ok := seen[g]; !ok {
			seen[g] = fmt.Sprintf("<guid-%d>", len(seen)+1)
		}
		return seen[g]
	})
}

// transcript renders a complete response: status line, headers (without
// Content-Length) and the indented body.
func transcript(t *testing.T, tn *tenant, r *response) string {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "HTTP/1.1 %d %s\n", r.status, http.StatusText(r.status))
	var names []string
	for k := range r.header {
		if k != "Content-Length" {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	for _, k := range names {
		fmt.Fprintf(&b, "%s: %s\n", k, strings.Join(r.header[k], ", "))
	}
	b.WriteString("\n")
	if len(r.body) > 0 {
		var out bytes.Buffer
		if json.Indent(&out, r.body, "", "  ") == nil {
			b.Write(out.Bytes())
		} else {
			b.Write(r.body)
		}
		b.WriteString("\n")
	}
	return normalize(tn, b.String())
}

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		require.NoError(t, os.MkdirAll("testdata", 0o755))
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
		return
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err, "run go test ./pkg/graphsim -run Golden -update")
	assert.Equal(t, string(want), got, "golden file %s (update with -update)", path)
}

func TestGoldenResponses(t *testing.T) {
	t.Parallel()
	clk := newClock()
	tn := newTenantWith(t, graphsim.Options{Token: testToken, Now: clk.Now, Throttle: graphsim.ThrottleDocumented,
		Budgets: graphsim.Budgets{AppWrites: 2}})
	send := func(method, path string, body any, headers ...string) string {
		return transcript(t, tn, tn.request(method, path, body, append([]string{"client-request-id", "golden"}, headers...)...))
	}

	golden(t, "invitation-created", send(http.MethodPost, "/v1.0/invitations", invitation("ext@partner.example",
		map[string]any{"invitedUserDisplayName": "Ext Partner"})))

	id := tn.create(newUser("gold", map[string]any{"jobTitle": "Gold"}))["id"].(string)
	require.Equal(t, http.StatusNoContent, tn.request(http.MethodDelete, "/v1.0/users/"+id, nil).status)
	golden(t, "deleted-users", send(http.MethodGet, deletedUsersPath+"?$select=id,displayName,deletedDateTime", nil))

	golden(t, "batch-dependson-throttled", send(http.MethodPost, "/v1.0/$batch", map[string]any{"requests": []any{
		map[string]any{"id": "1", "method": "GET", "url": "/users/nobody@contoso.com"},
		map[string]any{"id": "2", "method": "PATCH", "url": "/users/nobody@contoso.com", "dependsOn": []string{"1"},
			"body": map[string]any{"jobTitle": "x"}, "headers": jsonHeaders},
		map[string]any{"id": "3", "method": "POST", "url": "/users", "body": newUser("over", nil), "headers": jsonHeaders},
	}}))

	golden(t, "throttled", send(http.MethodPost, "/v1.0/users", newUser("over", nil)))

	snap, err := tn.sim.Snapshot()
	require.NoError(t, err)
	golden(t, "snapshot", normalize(tn, string(snap)))
}

func TestGoldenDeltaTokenExpired(t *testing.T) {
	t.Parallel()
	clk := newClock()
	tn := newTenantWith(t, graphsim.Options{Token: testToken, Now: clk.Now})
	_, _, link := deltaRound(tn, "/v1.0/users/delta")
	clk.Advance(8 * 24 * time.Hour)
	golden(t, "delta-token-expired", transcript(t, tn, tn.get(strings.TrimPrefix(link, tn.srv.URL), "client-request-id", "golden")))
}
