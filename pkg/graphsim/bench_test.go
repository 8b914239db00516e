package graphsim_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/guestsync/guestsync/pkg/graphsim"
)

// benchUsers is the tenant size BenchmarkCreateUsers builds.
const benchUsers = 20000

// BenchmarkCreateUsers creates benchUsers users, each with an
// onPremisesImmutableId and a mail (the properties whose uniqueness is
// checked), through the HTTP handler into a fresh tenant. One op is the
// whole tenant; ns/user is the mean cost of one create.
func BenchmarkCreateUsers(b *testing.B) {
	bodies := make([][]byte, benchUsers)
	for i := range bodies {
		alias := fmt.Sprintf("bench%05d", i)
		raw, err := json.Marshal(newUser(alias, map[string]any{
			"onPremisesImmutableId": fmt.Sprintf("aW1tdXRhYmxl%05d==", i),
			"mail":                  alias + "@contoso.com",
		}))
		if err != nil {
			b.Fatal(err)
		}
		bodies[i] = raw
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		sim := graphsim.New(graphsim.Options{VerifiedDomains: []string{"contoso.com"}})
		for _, body := range bodies {
			req := httptest.NewRequest(http.MethodPost, "/v1.0/users", bytes.NewReader(body))
			req.Header.Set("Authorization", "Bearer bench")
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			sim.ServeHTTP(rec, req)
			if rec.Code != http.StatusCreated {
				b.Fatalf("create: %d %s", rec.Code, rec.Body)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchUsers), "ns/user")
}
