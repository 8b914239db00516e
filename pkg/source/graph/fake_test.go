package graph

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// fake is a small Graph for unit tests of the group and application
// scopes, which guestsync's emulator does not serve yet. It answers the
// shapes Microsoft documents (Graph docs: "user: delta", "group: delta"
// with members@delta, "List group transitive members" and "List group
// members" with the OData cast, "List appRoleAssignments granted for a
// service principal", "JSON batching"), pages two objects at a time so
// that every read follows @odata.nextLink, and refuses the casts without
// ConsistencyLevel: eventual and $count=true as Graph refuses advanced
// queries (400 Request_UnsupportedQuery).
type fake struct {
	t    *testing.T
	srv  *httptest.Server
	root string

	mu       sync.Mutex
	seq      int
	users    map[string]*fakeUser
	groups   map[string]*fakeGroup
	assigned map[string][]fakeAssignment // service principal → assignments
	tokens   map[string]fakeToken
	requests []string // method and path of every request
	deny     string   // a path substring answered 403
	noDelta  bool     // users/delta rounds end without a deltaLink
	noLatest bool     // users/delta refuses $deltatoken=latest (400)
	// lagging users are missing from the membership casts, as from an
	// index that has not caught up with a change yet.
	lagging map[string]bool
}

type fakeUser struct {
	props   map[string]any
	changed int
	deleted bool
}

type fakeGroup struct {
	members map[string]string // id → "user" or "group"
	events  []fakeEvent
	deleted int // when it was deleted (0: it exists)
}

type fakeEvent struct {
	seq     int
	id, typ string
	removed bool
}

type fakeAssignment struct{ principalID, principalType string }

type fakeToken struct {
	kind  string // "users" or "groups"
	since int
	ids   []string // groups: the filtered ids
	sel   string   // users: the $select of the initial request
}

const pageOfFake = 2

func newFake(t *testing.T) *fake {
	f := &fake{t: t, users: map[string]*fakeUser{}, groups: map[string]*fakeGroup{},
		assigned: map[string][]fakeAssignment{}, tokens: map[string]fakeToken{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	f.root = f.srv.URL + "/v1.0"
	return f
}

// fakeIDs numbers the fake's objects across the tests that run at once.
var fakeIDs atomic.Int64

func newID(prefix byte) string {
	n := fakeIDs.Add(1)
	return fmt.Sprintf("%c%07x-0000-4000-8000-%012x", prefix, n, n)
}

// user adds a user and returns its id.
func (f *fake) user(alias, userType string, enabled bool) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	id := newID('a')
	f.users[id] = &fakeUser{changed: f.seq, props: map[string]any{
		"id": id, "displayName": "User " + alias, "userPrincipalName": alias + "_fabrikam.com#EXT#@contoso.com",
		"userType": userType, "accountEnabled": enabled, "mail": alias + "@fabrikam.com", "surname": nil,
	}}
	return id
}

func (f *fake) set(id, prop string, v any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	f.users[id].props[prop] = v
	f.users[id].changed = f.seq
}

func (f *fake) deleteUser(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	f.users[id].deleted, f.users[id].changed = true, f.seq
	for gid, g := range f.groups {
		if _, ok := g.members[id]; ok {
			f.unlink(gid, id)
		}
	}
}

func (f *fake) group(members ...string) string {
	f.mu.Lock()
	id := newID('b')
	f.groups[id] = &fakeGroup{members: map[string]string{}}
	f.mu.Unlock()
	for _, m := range members {
		f.addMember(id, m)
	}
	return id
}

func (f *fake) addMember(group, member string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	typ := "user"
	if _, ok := f.groups[member]; ok {
		typ = "group"
	}
	g := f.groups[group]
	g.members[member] = typ
	g.events = append(g.events, fakeEvent{seq: f.seq, id: member, typ: typ})
}

func (f *fake) removeMember(group, member string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.unlink(group, member)
}

func (f *fake) unlink(group, member string) {
	f.seq++
	g := f.groups[group]
	typ := g.members[member]
	delete(g.members, member)
	g.events = append(g.events, fakeEvent{seq: f.seq, id: member, typ: typ, removed: true})
}

// deleteGroup deletes a group: it leaves the groups it was nested in, and
// groups/delta reports it removed.
func (f *fake) deleteGroup(id string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for gid, g := range f.groups {
		if _, ok := g.members[id]; ok {
			f.unlink(gid, id)
		}
	}
	f.seq++
	f.groups[id].deleted = f.seq
}

func (f *fake) assign(sp, principal, typ string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.assigned[sp] = append(f.assigned[sp], fakeAssignment{principal, typ})
}

func (f *fake) unassign(sp, principal string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.assigned[sp] = slices.DeleteFunc(f.assigned[sp], func(a fakeAssignment) bool { return a.principalID == principal })
}

// count returns how many requests' paths contained s.
func (f *fake) count(s string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, r := range f.requests {
		if strings.Contains(r, s) {
			n++
		}
	}
	return n
}

func (f *fake) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	status, body := f.answer(r.Method, r.URL, r.Header, r.Body)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

func graphError(status int, code, msg string) (int, any) {
	return status, map[string]any{"error": map[string]any{"code": code, "message": msg,
		"innerError": map[string]any{"request-id": "fake-request", "date": "2026-12-08T04:00:00"}}}
}

// answer serves one request; the caller holds f.mu.
func (f *fake) answer(method string, u *url.URL, h http.Header, body io.Reader) (int, any) {
	path := strings.TrimPrefix(u.Path, "/v1.0")
	f.requests = append(f.requests, method+" "+path)
	if f.deny != "" && strings.Contains(path, f.deny) {
		return graphError(http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
	}
	q := u.Query()
	parts := strings.Split(strings.Trim(path, "/"), "/")
	switch {
	case method == http.MethodPost && path == "/$batch":
		return f.batch(body)
	case path == "/users/delta()" || path == "/users/delta":
		return f.usersDelta(q)
	case path == "/groups/delta":
		return f.groupsDelta(q)
	case path == "/users":
		var objs []any
		for _, id := range sortedKeys(f.users) {
			if !f.users[id].deleted {
				objs = append(objs, selected(f.users[id].props, q))
			}
		}
		return f.page(u, objs, "")
	case len(parts) == 2 && parts[0] == "users":
		usr, ok := f.users[parts[1]]
		if !ok || usr.deleted {
			return graphError(http.StatusNotFound, "Request_ResourceNotFound", "Resource '"+parts[1]+"' does not exist.")
		}
		return http.StatusOK, selected(usr.props, q)
	case len(parts) == 4 && parts[0] == "groups" && (parts[2] == "transitiveMembers" || parts[2] == "members"):
		g, ok := f.groups[parts[1]]
		if !ok || g.deleted > 0 {
			return graphError(http.StatusNotFound, "Request_ResourceNotFound", "Resource '"+parts[1]+"' does not exist.")
		}
		if h.Get("ConsistencyLevel") != "eventual" || q.Get("$count") != "true" {
			return graphError(http.StatusBadRequest, "Request_UnsupportedQuery", "The requested OData cast needs ConsistencyLevel eventual and $count.")
		}
		var objs []any
		for _, id := range f.membersOf(g, parts[2] == "transitiveMembers", strings.TrimPrefix(parts[3], "microsoft.graph.")) {
			if f.lagging[id] {
				continue
			}
			if u, ok := f.users[id]; ok {
				objs = append(objs, selected(u.props, q))
			} else {
				objs = append(objs, map[string]any{"id": id})
			}
		}
		return f.page(u, objs, "")
	case len(parts) == 3 && parts[0] == "servicePrincipals" && parts[2] == "appRoleAssignedTo":
		as, ok := f.assigned[parts[1]]
		if !ok {
			return graphError(http.StatusNotFound, "Request_ResourceNotFound", "Resource '"+parts[1]+"' does not exist.")
		}
		var objs []any
		for i, a := range as {
			objs = append(objs, map[string]any{"id": "assignment" + strconv.Itoa(i), "principalId": a.principalID,
				"principalType": a.principalType, "resourceId": parts[1], "appRoleId": "00000000-0000-0000-0000-000000000000"})
		}
		return f.page(u, objs, "")
	}
	return graphError(http.StatusBadRequest, "BadRequest", "the fake does not serve "+method+" "+path)
}

// membersOf lists a group's members of a type ("user", "group"), nested
// ones too when transitive, sorted.
func (f *fake) membersOf(g *fakeGroup, transitive bool, typ string) []string {
	seen := map[string]bool{}
	var walk func(*fakeGroup)
	walk = func(g *fakeGroup) {
		for id, t := range g.members {
			if seen[id] {
				continue
			}
			if t == typ {
				seen[id] = true
			}
			if t == "group" && transitive {
				seen[id] = typ == "group"
				walk(f.groups[id])
			}
		}
	}
	walk(g)
	var out []string
	for id, ok := range seen {
		if ok && (typ != "user" || !f.users[id].deleted) {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// page answers one page of objs: $skiptoken is the offset; the last page
// carries deltaLink when it is not "".
func (f *fake) page(u *url.URL, objs []any, deltaLink string) (int, any) {
	off, _ := strconv.Atoi(u.Query().Get("$skiptoken"))
	end := min(off+pageOfFake, len(objs))
	resp := map[string]any{"value": append([]any{}, objs[off:end]...)}
	if end < len(objs) {
		q := u.Query()
		q.Set("$skiptoken", strconv.Itoa(end))
		resp["@odata.nextLink"] = f.root + strings.TrimPrefix(u.Path, "/v1.0") + "?" + q.Encode()
	} else if deltaLink != "" {
		resp["@odata.deltaLink"] = deltaLink
	}
	return http.StatusOK, resp
}

// token returns a state token for a round's next start.
func (f *fake) token(t fakeToken) string {
	tok := "tok" + strconv.Itoa(len(f.tokens)+1)
	f.tokens[tok] = t
	return tok
}

func (f *fake) usersDelta(q url.Values) (int, any) {
	since := -1
	if q.Get("$deltatoken") == "latest" {
		if f.noLatest {
			return graphError(http.StatusBadRequest, "Request_BadRequest", "Invalid $deltatoken value.")
		}
		link := f.root + "/users/delta()?$deltatoken=" + f.token(fakeToken{kind: "users", since: f.seq, sel: q.Get("$select")})
		return http.StatusOK, map[string]any{"value": []any{}, "@odata.deltaLink": link}
	}
	if tok := q.Get("$deltatoken"); tok != "" {
		t, ok := f.tokens[tok]
		if !ok || t.kind != "users" {
			return graphError(http.StatusBadRequest, "syncStateNotFound", "The sync state cannot be found.")
		}
		since = t.since
		q = url.Values{"$select": {t.sel}, "$deltatoken": {tok}, "$skiptoken": q["$skiptoken"]}
	}
	var objs []any
	for _, id := range sortedKeys(f.users) {
		u := f.users[id]
		switch {
		case since < 0 && !u.deleted:
			objs = append(objs, selected(u.props, q))
		case since >= 0 && u.changed > since && u.deleted:
			objs = append(objs, map[string]any{"id": id, "@removed": map[string]any{"reason": "deleted"}})
		case since >= 0 && u.changed > since:
			objs = append(objs, selected(u.props, q))
		}
	}
	link := ""
	if !f.noDelta {
		link = f.root + "/users/delta()?$deltatoken=" + f.token(fakeToken{kind: "users", since: f.seq, sel: q.Get("$select")})
	}
	// The round's pages are cut from objs; continuing pages carry the
	// same query, so the snapshot is recomputed (the tests do not change
	// the tenant during a round).
	u := &url.URL{Path: "/v1.0/users/delta()", RawQuery: q.Encode()}
	return f.page(u, objs, link)
}

func (f *fake) groupsDelta(q url.Values) (int, any) {
	t := fakeToken{kind: "groups", since: -1}
	if tok := q.Get("$deltatoken"); tok != "" {
		var ok bool
		if t, ok = f.tokens[tok]; !ok || t.kind != "groups" {
			return graphError(http.StatusBadRequest, "syncStateNotFound", "The sync state cannot be found.")
		}
	} else {
		if q.Get("$select") != "members" {
			f.t.Errorf("groups/delta selects %q, want members", q.Get("$select"))
		}
		filter := q.Get("$filter")
		for _, term := range strings.Split(filter, " or ") {
			id, ok := strings.CutPrefix(term, "id eq '")
			if !ok || !strings.HasSuffix(id, "'") {
				return graphError(http.StatusBadRequest, "Request_UnsupportedQuery", "Unsupported $filter: "+filter)
			}
			t.ids = append(t.ids, strings.TrimSuffix(id, "'"))
		}
		if len(t.ids) > maxDeltaFilter {
			return graphError(http.StatusBadRequest, "Request_UnsupportedQuery", "Too many ids in $filter.")
		}
	}
	var objs []any
	for _, id := range t.ids {
		g, ok := f.groups[id]
		if !ok || g.deleted > 0 && t.since < 0 {
			continue
		}
		if g.deleted > 0 {
			if g.deleted > t.since {
				objs = append(objs, map[string]any{"id": id, "@removed": map[string]any{"reason": "deleted"}})
			}
			continue
		}
		var delta []any
		if t.since < 0 {
			for m, typ := range g.members {
				delta = append(delta, map[string]any{"@odata.type": "#microsoft.graph." + typ, "id": m})
			}
		} else {
			for _, e := range g.events {
				if e.seq <= t.since {
					continue
				}
				d := map[string]any{"@odata.type": "#microsoft.graph." + e.typ, "id": e.id}
				if e.removed {
					d["@removed"] = map[string]any{"reason": "deleted"}
				}
				delta = append(delta, d)
			}
		}
		if t.since < 0 || len(delta) > 0 {
			objs = append(objs, map[string]any{"id": id, "members@delta": delta})
		}
	}
	next := t
	next.since = f.seq
	link := f.root + "/groups/delta?$deltatoken=" + f.token(next)
	u := &url.URL{Path: "/v1.0/groups/delta", RawQuery: q.Encode()}
	return f.page(u, objs, link)
}

// batch answers a $batch by serving each request in turn.
func (f *fake) batch(body io.Reader) (int, any) {
	var req struct {
		Requests []struct {
			ID     string `json:"id"`
			Method string `json:"method"`
			URL    string `json:"url"`
		} `json:"requests"`
	}
	if err := json.NewDecoder(body).Decode(&req); err != nil || len(req.Requests) > 20 {
		return graphError(http.StatusBadRequest, "BadRequest", "bad batch")
	}
	var responses []any
	for _, it := range req.Requests {
		u, err := url.Parse("/v1.0" + it.URL)
		if err != nil {
			return graphError(http.StatusBadRequest, "BadRequest", "bad url")
		}
		status, b := f.answer(it.Method, u, http.Header{}, bytes.NewReader(nil))
		responses = append(responses, map[string]any{"id": it.ID, "status": status, "body": b,
			"headers": map[string]string{"Content-Type": "application/json"}})
	}
	return http.StatusOK, map[string]any{"responses": responses}
}

// selected is a user's $select'ed properties with a value, id always.
func selected(props map[string]any, q url.Values) map[string]any {
	out := map[string]any{"id": props["id"]}
	sel := q.Get("$select")
	for _, p := range strings.Split(sel, ",") {
		if v, ok := props[p]; ok && v != nil {
			out[p] = v
		}
	}
	return out
}
