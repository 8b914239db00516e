package graphsim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The scans that userStore.bySeq, userStore.lagging, the change log and
// deletedBound replaced, kept as the reference behaviour.

func scanRoundUpto(s *Server, now time.Time, since uint64) uint64 {
	upto := s.changeSeq
	for _, u := range s.users.byID {
		if !u.visible(now) && u.changed > 0 {
			upto = min(upto, u.changed-1)
		}
	}
	return max(upto, since)
}

func scanDeltaEntries(s *Server, now time.Time, tok deltaToken) []deltaEntry {
	var out []deltaEntry
	for _, u := range s.users.byID {
		if !u.visible(now) {
			continue
		}
		switch {
		case tok.Initial && u.seq > tok.After:
			out = append(out, deltaEntry{key: u.seq, user: u})
		case !tok.Initial && u.changed > tok.Since && u.changed <= tok.Upto && u.changed > tok.After:
			out = append(out, deltaEntry{key: u.changed, user: u})
		}
	}
	if !tok.Initial {
		for _, t := range s.tombstones {
			if t.seq > tok.Since && t.seq <= tok.Upto && t.seq > tok.After {
				out = append(out, deltaEntry{key: t.seq, tomb: t})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].key < out[j].key })
	return out
}

func scanOrdered(st *userStore) []*userRecord {
	all := make([]*userRecord, 0, len(st.byID))
	for _, u := range st.byID {
		all = append(all, u)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].seq < all[j].seq })
	return all
}

// describe makes delta entries comparable: key, user pointer or tombstone.
func describe(entries []deltaEntry) []string {
	out := make([]string, len(entries))
	for i, e := range entries {
		if e.user != nil {
			out[i] = fmt.Sprintf("%d user %p", e.key, e.user)
			continue
		}
		out[i] = fmt.Sprintf("%d removed %s %s %d", e.key, e.tomb.id, e.tomb.reason, e.tomb.seq)
	}
	return out
}

// SteppedClock is a clock that moves only when a test advances it. It is
// exported for the graphsim_test package's tests too (helpers_test.go).
type SteppedClock struct {
	mu sync.Mutex
	t  time.Time
}

// NewSteppedClock is a clock standing at t.
func NewSteppedClock(t time.Time) *SteppedClock { return &SteppedClock{t: t} }

func (c *SteppedClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *SteppedClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// TestPagingAnswersLikeScans drives a tenant over HTTP through random
// creates (with replication lag), updates, soft and hard deletes, restores,
// recycle-bin purges, a clock that sometimes goes back, and reloads from
// shuffled snapshots, and after every step compares each paging structure
// with the scan it replaced: delta pages at random cursors (what a round
// sees when writes land between its pages), the round's upper bound, GET
// /users pages, creation order and the purge of expired deleted users.
func TestPagingAnswersLikeScans(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(5, 6))
	const scale = 43200 // the 30-day retention lasts 60 s, the lag 5 s
	clk := NewSteppedClock(time.Date(2026, 11, 24, 1, 2, 3, 0, time.UTC))
	opts := Options{VerifiedDomains: []string{"contoso.com"}, Now: clk.Now, TimeScale: scale,
		Faults: Faults{Lag: 5 * time.Second * scale}}
	s := New(opts)
	ttl := s.scaled(retention)
	do := func(method, path string, body any) {
		var raw []byte
		if body != nil {
			raw, _ = json.Marshal(body)
		}
		req := httptest.NewRequest(method, path, bytes.NewReader(raw))
		req.Header.Set("Authorization", "Bearer test")
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		require.Less(t, rec.Code, 500, "%s %s: %s", method, path, rec.Body)
	}
	reload := func() {
		data, err := s.Snapshot()
		require.NoError(t, err)
		var snap map[string]any
		require.NoError(t, json.Unmarshal(data, &snap))
		for _, k := range []string{"users", "removed"} {
			list := snap[k].([]any)
			rng.Shuffle(len(list), func(i, j int) { list[i], list[j] = list[j], list[i] })
		}
		data, err = json.Marshal(snap)
		require.NoError(t, err)
		s = New(opts)
		require.NoError(t, s.LoadSnapshot(data))
	}

	var ids []string
	hits := map[string]int{}
	for step := range 3000 {
		// Phases of growth and of shrinking, so that stale entries pile
		// up and get compacted.
		grow := step/400%2 == 0
		op := rng.IntN(100)
		id := ""
		if len(ids) > 0 {
			id = ids[rng.IntN(len(ids))]
		}
		switch {
		case id == "" || (grow && op < 45) || (!grow && op < 10):
			body := map[string]any{"accountEnabled": true, "displayName": "U", "mailNickname": fmt.Sprintf("u%d", step),
				"userPrincipalName": fmt.Sprintf("u%d@contoso.com", step),
				"passwordProfile":   map[string]any{"password": "Passw0rd!x"}}
			req := httptest.NewRequest(http.MethodPost, "/v1.0/users", bytes.NewReader(must(json.Marshal(body))))
			req.Header.Set("Authorization", "Bearer test")
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, req)
			require.Equal(t, http.StatusCreated, rec.Code, "%s", rec.Body)
			var created map[string]any
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &created))
			ids = append(ids, created["id"].(string))
		case op < 60:
			do(http.MethodPatch, "/v1.0/users/"+id, map[string]any{"jobTitle": fmt.Sprint(step)})
		case op < 80:
			do(http.MethodDelete, "/v1.0/users/"+id, nil)
		case op < 88:
			do(http.MethodDelete, "/v1.0/directory/deletedItems/"+id, nil)
		case op < 99:
			do(http.MethodPost, "/v1.0/directory/deletedItems/"+id+"/restore", nil)
		default:
			reload()
			hits["reload"]++
		}
		if rng.IntN(25) == 0 {
			clk.Advance(-time.Duration(rng.IntN(10)) * time.Second)
		} else {
			clk.Advance(time.Duration(rng.IntN(1500)) * time.Millisecond)
		}
		now := clk.Now()
		c := &call{now: now}

		s.mu.Lock()
		expired := map[string]bool{}
		for key, d := range s.deleted {
			if now.Sub(d.at) >= ttl {
				expired[key] = true
			}
		}
		before := len(s.deleted)
		s.mu.Unlock()
		s.purgeExpired(now)
		s.mu.Lock()
		require.Len(t, s.deleted, before-len(expired), "step %d: purge", step)
		for key := range expired {
			require.NotContains(t, s.deleted, key, "step %d: purge", step)
			hits["purged"]++
		}

		require.Equal(t, scanOrdered(s.users), s.users.ordered(), "step %d: ordered", step)
		for _, since := range []uint64{0, rng.Uint64N(s.changeSeq + 1)} {
			want := scanRoundUpto(s, now, since)
			require.Equal(t, want, s.roundUpto(c, since), "step %d: roundUpto(%d)", step, since)
			if want < s.changeSeq {
				hits["lag holds a round back"]++
			}
		}
		for range 4 {
			var tok deltaToken
			if rng.IntN(3) == 0 {
				tok = deltaToken{Initial: true, After: rng.Uint64N(s.users.nextSeq + 2)}
			} else {
				tok.Since = rng.Uint64N(s.changeSeq + 1)
				tok.Upto = tok.Since + rng.Uint64N(s.changeSeq+2-tok.Since)
				if rng.IntN(2) == 0 {
					tok.Upto = scanRoundUpto(s, now, tok.Since)
				}
				if rng.IntN(2) == 0 {
					tok.After = tok.Since + rng.Uint64N(tok.Upto+2-tok.Since)
				}
			}
			size := 1 + rng.IntN(6)
			want := scanDeltaEntries(s, now, tok)
			got, more := s.deltaPage(c, tok, size)
			require.Equal(t, describe(want[:min(size, len(want))]), describe(got), "step %d: deltaPage(%+v, %d)", step, tok, size)
			require.Equal(t, len(want) > size, more, "step %d: deltaPage(%+v, %d) more", step, tok, size)
			if len(got) > 0 && got[0].user == nil {
				hits["tombstone"]++
			}
		}
		q := &listQuery{top: 1 + rng.IntN(6)}
		if rng.IntN(2) == 0 {
			q.token = pageToken{set: true, after: rng.Uint64N(s.users.nextSeq + 2)}
		}
		var matches []*userRecord
		for _, u := range scanOrdered(s.users) {
			if u.visible(now) {
				matches = append(matches, u)
			}
		}
		wantPage, wantNext := paginate(matches, q)
		gotPage, gotNext := s.pageAfter(c, q)
		require.Equal(t, append([]*userRecord{}, wantPage...), append([]*userRecord{}, gotPage...), "step %d: pageAfter(%+v)", step, q)
		require.Equal(t, wantNext, gotNext, "step %d: pageAfter(%+v) next", step, q)

		if n := len(s.users.bySeq); n < hits["seq len"] {
			hits["seq compacted"]++
		}
		if n := len(s.changes.entries); n < hits["log len"] {
			hits["log compacted"]++
		}
		hits["seq len"], hits["log len"] = len(s.users.bySeq), len(s.changes.entries)
		s.mu.Unlock()
	}
	delete(hits, "seq len")
	delete(hits, "log len")
	for _, k := range []string{"reload", "purged", "lag holds a round back", "tombstone", "seq compacted", "log compacted"} {
		assert.Greater(t, hits[k], 5, "the random walk exercises %s: %v", k, hits)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// TestDeletedBound checks purgeExpired's bound against the per-item test
// over deletion times with and without a monotonic clock reading (time.Now,
// and times read back from a state file), which time.Time.Sub measures on
// different clocks, at times with and without one.
func TestDeletedBound(t *testing.T) {
	t.Parallel()
	const ttl = time.Minute
	base := time.Now() // has a monotonic reading
	items := []time.Time{base.Add(20 * time.Second), base.Round(0).Add(-15 * time.Second), base.Add(45 * time.Second)}
	var b deletedBound
	assert.False(t, b.mayExpire(base.Add(1000*ttl), ttl), "nothing noted")
	for _, at := range items {
		b.note(at)
	}
	for ms := -10000; ms < 150000; ms += 250 {
		d := time.Duration(ms) * time.Millisecond
		for _, now := range []time.Time{base.Add(d), base.Round(0).Add(d)} {
			want := false
			for _, at := range items {
				want = want || now.Sub(at) >= ttl
			}
			require.Equal(t, want, b.mayExpire(now, ttl), "%v after base", d)
		}
	}
}
