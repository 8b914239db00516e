package graphsim_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/guestsync/guestsync/pkg/graphsim"
)

// benchMembers is how many guests BenchmarkTransitiveMembers puts in a
// group (through a nested group): the size of make bench's shadow run.
const benchMembers = 10000

// BenchmarkTransitiveMembers reads every guest of a nested group through
// /transitiveMembers/microsoft.graph.user in pages of 999, as the Graph
// source reads a scoping group. One op is the whole read.
func BenchmarkTransitiveMembers(b *testing.B) {
	sim := graphsim.New(graphsim.Options{VerifiedDomains: []string{"contoso.com"}})
	do := func(method, path string, body any) []byte {
		var rdr *bytes.Reader
		if body != nil {
			raw, _ := json.Marshal(body)
			rdr = bytes.NewReader(raw)
		} else {
			rdr = bytes.NewReader(nil)
		}
		req := httptest.NewRequest(method, path, rdr)
		req.Header.Set("Authorization", "Bearer bench")
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("ConsistencyLevel", "eventual")
		rec := httptest.NewRecorder()
		sim.ServeHTTP(rec, req)
		if rec.Code >= 300 {
			b.Fatalf("%s %s: %d %s", method, path, rec.Code, rec.Body)
		}
		return rec.Body.Bytes()
	}
	id := func(raw []byte) string {
		var v struct{ ID string }
		_ = json.Unmarshal(raw, &v)
		return v.ID
	}
	outer := id(do(http.MethodPost, "/v1.0/groups", newGroup("outer", nil)))
	inner := id(do(http.MethodPost, "/v1.0/groups", newGroup("inner", nil)))
	do(http.MethodPost, "/v1.0/groups/"+outer+"/members/$ref", memberRef(inner))
	for i := range benchMembers {
		u := id(do(http.MethodPost, "/v1.0/users", newUser(fmt.Sprintf("guest%05d", i), map[string]any{"userType": "Guest"})))
		do(http.MethodPost, "/v1.0/groups/"+inner+"/members/$ref", memberRef(u))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		n := 0
		link := "/v1.0/groups/" + outer + "/transitiveMembers/microsoft.graph.user?$count=true&$top=999&$select=id,userPrincipalName"
		for link != "" {
			var page struct {
				Value []json.RawMessage
				Next  string `json:"@odata.nextLink"`
			}
			_ = json.Unmarshal(do(http.MethodGet, link, nil), &page)
			n += len(page.Value)
			link = ""
			if page.Next != "" {
				link = page.Next[strings.Index(page.Next, "/v1.0/"):]
			}
		}
		if n != benchMembers {
			b.Fatalf("read %d members, want %d", n, benchMembers)
		}
	}
}
