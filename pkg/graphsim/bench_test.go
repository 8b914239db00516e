package graphsim_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
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
			if err := benchCreate(sim, body); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchUsers), "ns/user")
}

// benchCreate creates the user body through the HTTP handler.
func benchCreate(sim *graphsim.Server, body []byte) error {
	req := httptest.NewRequest(http.MethodPost, "/v1.0/users", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer bench")
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	sim.ServeHTTP(rec, req)
	if rec.Code != http.StatusCreated {
		return fmt.Errorf("create: %d %s", rec.Code, rec.Body)
	}
	return nil
}

// pagingUsers is the tenant size of the paging benchmarks.
const pagingUsers = 100000

// pagingTenant is a tenant of pagingUsers users, created once through the
// HTTP handler and shared by the paging benchmarks (they only read).
var pagingTenant = sync.OnceValues(func() (*graphsim.Server, error) {
	sim := graphsim.New(graphsim.Options{VerifiedDomains: []string{"contoso.com"}})
	for i := range pagingUsers {
		alias := fmt.Sprintf("page%06d", i)
		raw, err := json.Marshal(newUser(alias, map[string]any{"mail": alias + "@contoso.com", "jobTitle": "Engineer"}))
		if err != nil {
			return nil, err
		}
		if err := benchCreate(sim, raw); err != nil {
			return nil, err
		}
	}
	return sim, nil
})

// readAll follows @odata.nextLink from start to the last page and returns
// the number of objects and pages read.
func readAll(b *testing.B, sim *graphsim.Server, start string, headers ...string) (objects, pages int) {
	b.Helper()
	link := start
	for link != "" {
		req := httptest.NewRequest(http.MethodGet, link, nil)
		req.Header.Set("Authorization", "Bearer bench")
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		rec := httptest.NewRecorder()
		sim.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("GET %s: %d %s", link, rec.Code, rec.Body)
		}
		var page struct {
			Value    []json.RawMessage `json:"value"`
			NextLink string            `json:"@odata.nextLink"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &page); err != nil {
			b.Fatal(err)
		}
		objects += len(page.Value)
		pages++
		link = page.NextLink
	}
	return objects, pages
}

// benchmarkPaging reads every user of pagingTenant through start and its
// nextLinks. One op is the whole collection; ns/page is the mean cost of
// one page.
func benchmarkPaging(b *testing.B, start string, headers ...string) {
	sim, err := pagingTenant()
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	pages := 0
	for range b.N {
		n, p := readAll(b, sim, start, headers...)
		if n != pagingUsers {
			b.Fatalf("read %d users, want %d", n, pagingUsers)
		}
		pages += p
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(pages), "ns/page")
}

// BenchmarkDeltaInitialRound100k reads the initial users/delta round of
// 100,000 users in pages of 999 (Prefer: odata.maxpagesize=999).
func BenchmarkDeltaInitialRound100k(b *testing.B) {
	benchmarkPaging(b, "/v1.0/users/delta()?$select=displayName,mail,jobTitle", "Prefer", "odata.maxpagesize=999")
}

// BenchmarkListUsers100k reads GET /users over 100,000 users in pages of
// 999 ($top=999 and the nextLinks).
func BenchmarkListUsers100k(b *testing.B) {
	benchmarkPaging(b, "/v1.0/users?$top=999&$select=id,displayName,mail")
}

// BenchmarkDeltaNoChanges100k follows a deltaLink of a 100,000-user tenant
// in which nothing changed: the poll a synced client makes most often.
func BenchmarkDeltaNoChanges100k(b *testing.B) {
	sim, err := pagingTenant()
	if err != nil {
		b.Fatal(err)
	}
	get := func(link string) map[string]any {
		req := httptest.NewRequest(http.MethodGet, link, nil)
		req.Header.Set("Authorization", "Bearer bench")
		req.Header.Set("Prefer", "odata.maxpagesize=999")
		rec := httptest.NewRecorder()
		sim.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("GET %s: %d %s", link, rec.Code, rec.Body)
		}
		var body map[string]any
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			b.Fatal(err)
		}
		return body
	}
	// Skip to the end of an initial round: the deltaLink of the last page.
	link := "/v1.0/users/delta()?$select=displayName"
	for {
		body := get(link)
		next, ok := body["@odata.nextLink"].(string)
		if !ok {
			link = body["@odata.deltaLink"].(string)
			break
		}
		link = next
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if body := get(link); len(body["value"].([]any)) != 0 {
			b.Fatalf("changes in an unchanged tenant: %v", body["value"])
		}
	}
}
