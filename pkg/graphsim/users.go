package graphsim

import (
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

const usersContext = graphMetadata + "#users"

// routeUsers serves /users and below.
func (s *Server) routeUsers(c *call, rest []string) *graphError {
	method := c.r.Method
	switch {
	case len(rest) == 0:
		switch method {
		case http.MethodGet:
			return s.listUsers(c)
		case http.MethodPost:
			return s.createUser(c)
		}
		return errMethodNotAllowed()
	case strings.EqualFold(rest[0], "$count") && len(rest) == 1:
		if method != http.MethodGet {
			return errMethodNotAllowed()
		}
		return s.countUsers(c)
	case isDeltaSegment(rest[0]):
		if method != http.MethodGet {
			return errMethodNotAllowed()
		}
		if len(rest) > 1 {
			return errSegmentNotFound(rest[1])
		}
		return s.delta(c)
	case len(rest) == 1:
		switch method {
		case http.MethodGet:
			return s.getUser(c, rest[0])
		case http.MethodPatch:
			return s.patchUser(c, rest[0])
		case http.MethodDelete:
			return s.deleteUser(c, rest[0])
		}
		return errMethodNotAllowed()
	}
	if s.visibleUser(rest[0], c.now) == nil {
		return errResourceNotFound(rest[0])
	}
	switch strings.ToLower(rest[1]) {
	case "manager", "directreports", "memberof", "transitivememberof", "ownedobjects",
		"registereddevices", "owneddevices", "approleassignments", "sponsors", "authentication":
		return errNotEmulated("/users/{id}/" + rest[1])
	}
	return errSegmentNotFound(rest[1])
}

// isDeltaSegment recognises the delta function (GRAPH.md "Reading": GET
// /users/delta()), with or without its namespace.
func isDeltaSegment(seg string) bool {
	switch strings.ToLower(seg) {
	case "delta", "delta()", "microsoft.graph.delta", "microsoft.graph.delta()":
		return true
	}
	return false
}

// value returns what Graph shows for p: null when unset, an empty array for
// an unset collection, and never the password (Graph returns passwordProfile
// as null).
func (u *userRecord) value(p *propDef) any {
	switch p.name {
	case "id":
		return u.id
	case "passwordProfile":
		return nil
	}
	if p.parent != nil {
		obj, _ := u.props[p.parent.name].(map[string]any)
		return obj[p.field]
	}
	v, ok := u.props[p.name]
	if p.allFields {
		// Graph returns every member of onPremisesExtensionAttributes,
		// null when unset (Graph docs, "onPremisesExtensionAttributes
		// resource type", JSON representation).
		obj, _ := v.(map[string]any)
		out := make(map[string]any, len(p.fields))
		for f := range p.fields {
			out[f] = obj[f]
		}
		return out
	}
	if !ok || v == nil {
		if p.kind == kindStrings {
			return []string{}
		}
		return nil
	}
	return v
}

// visibleUser finds a user by id or UPN as a read at now sees it: a user
// still inside its replication lag is not there yet (GRAPH.md: "GET or PATCH
// right after a create or an invitation can answer 404 for a short while").
func (s *Server) visibleUser(key string, now time.Time) *userRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.visibleLocked(key, now)
}

func (s *Server) visibleLocked(key string, now time.Time) *userRecord {
	u := s.users.lookup(key)
	if u == nil || !u.visible(now) {
		return nil
	}
	return u
}

// lagUntil is when a user created at now becomes visible (Faults.Lag).
func (s *Server) lagUntil(now time.Time) time.Time {
	if s.faults.f.Lag <= 0 {
		return time.Time{}
	}
	return now.Add(s.scaled(s.faults.f.Lag))
}

func render(u *userRecord, props []*propDef) map[string]any {
	out := make(map[string]any, len(props)+1)
	for _, p := range props {
		out[p.name] = u.value(p)
	}
	return out
}

// selectContext is the @odata.context of a projection: "#users(a,b)".
func selectContext(selects []*propDef) string {
	if selects == nil {
		return usersContext
	}
	names := make([]string, len(selects))
	for i, p := range selects {
		names[i] = p.name
	}
	return usersContext + "(" + strings.Join(names, ",") + ")"
}

// createUser serves POST /users. Graph docs, "Create user": 201 Created with
// the user object in the body.
func (s *Server) createUser(c *call) *graphError {
	body, err := readBody(c.r)
	if err != nil {
		return err
	}
	props, err := s.schema.decodeObject(body)
	if err != nil {
		return err
	}
	if err := s.validateUser(props, true); err != nil {
		return err
	}
	// Graph docs, "user resource type", userType: users created through
	// POST /users are Members unless the caller says otherwise.
	if props["userType"] == nil {
		props["userType"] = "Member"
	}
	props["createdDateTime"] = c.now.UTC().Format(time.RFC3339)
	setProxyAddresses(props)
	mergeObjects(nil, props)

	s.mu.Lock()
	if name, other := s.users.conflict(nil, props); other != nil {
		s.mu.Unlock()
		return errConflict(name, other.id)
	}
	u := &userRecord{id: newGUID(), props: props, visibleAt: s.lagUntil(c.now)}
	s.users.add(u)
	s.touch(u)
	// The response shows the default set plus every stored property, with
	// passwordProfile null.
	shown := append([]*propDef(nil), s.schema.defaults...)
	for _, p := range s.schema.props {
		if _, set := props[p.name]; set && !p.selected {
			shown = append(shown, p)
		}
	}
	out := render(u, shown)
	s.mu.Unlock()

	out["@odata.context"] = usersContext + "/$entity"
	c.writeJSON(http.StatusCreated, out)
	return nil
}

// setProxyAddresses derives proxyAddresses from mail, as Entra does for a
// user whose mail is set ("SMTP:" marks the primary address).
func setProxyAddresses(props map[string]any) {
	mail, present := props["mail"]
	if !present {
		return
	}
	if m, ok := mail.(string); ok && m != "" {
		props["proxyAddresses"] = []string{"SMTP:" + m}
		return
	}
	props["proxyAddresses"] = []string{}
}

// itemSelect reads the query options a GET of one object accepts: $select
// (checked like a list's), $format; $expand is not emulated.
func (s *Server) itemSelect(c *call) ([]*propDef, *graphError) {
	opts, err := queryOptions(c.r.URL, "$select", "$expand", "$format")
	if err != nil {
		return nil, err
	}
	if _, ok := opts["$expand"]; ok {
		return nil, errNotEmulated("$expand")
	}
	return s.parseSelect(opts["$select"])
}

// getUser serves GET /users/{id | userPrincipalName}.
func (s *Server) getUser(c *call, key string) *graphError {
	selects, err := s.itemSelect(c)
	if err != nil {
		return err
	}
	s.mu.Lock()
	u := s.visibleLocked(key, c.now)
	var out map[string]any
	if u != nil {
		shown := selects
		if shown == nil {
			shown = s.schema.defaults
		}
		out = render(u, shown)
	}
	s.mu.Unlock()
	if u == nil {
		return errResourceNotFound(key)
	}
	out["@odata.context"] = selectContext(selects) + "/$entity"
	c.writeJSON(http.StatusOK, out)
	return nil
}

// patchUser serves PATCH /users/{id}. Graph docs, "Update user": 204 No
// Content; properties not in the body keep their values.
func (s *Server) patchUser(c *call, key string) *graphError {
	body, err := readBody(c.r)
	if err != nil {
		return err
	}
	props, err := s.schema.decodeObject(body)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.visibleLocked(key, c.now)
	if u == nil {
		return errResourceNotFound(key)
	}
	if err := s.validateUser(props, false); err != nil {
		return err
	}
	setProxyAddresses(props)
	if name, other := s.users.conflict(u, props); other != nil {
		return errConflict(name, other.id)
	}
	mergeObjects(u.props, props)
	for name, v := range props {
		if v == nil {
			delete(u.props, name)
			continue
		}
		u.props[name] = v
	}
	s.users.reindex(u)
	s.touch(u)
	c.writeNoContent()
	return nil
}

// deleteUser serves DELETE /users/{id}. Graph docs, "Delete user": 204 No
// Content; "deleted users ... are moved to a temporary container and can be
// restored within 30 days" (directory/deletedItems, see deleted.go).
func (s *Server) deleteUser(c *call, key string) *graphError {
	s.mu.Lock()
	u := s.visibleLocked(key, c.now)
	if u != nil {
		s.softDelete(u, c.now)
	}
	s.mu.Unlock()
	if u == nil {
		return errResourceNotFound(key)
	}
	c.writeNoContent()
	return nil
}

// mergeObjects makes a write of onPremisesExtensionAttributes update only
// the attributes it names, null clearing one, as the directory does for
// these Exchange custom attributes; other complex properties are replaced
// whole. old is nil on create.
func mergeObjects(old, props map[string]any) {
	const name = "onPremisesExtensionAttributes"
	v, ok := props[name].(map[string]any)
	if !ok {
		return
	}
	merged := map[string]any{}
	if prev, ok := old[name].(map[string]any); ok {
		for k, x := range prev {
			merged[k] = x
		}
	}
	for k, x := range v {
		if x == nil || x == "" {
			delete(merged, k)
			continue
		}
		merged[k] = x
	}
	if len(merged) == 0 {
		props[name] = nil
		if old == nil {
			delete(props, name)
		}
		return
	}
	props[name] = merged
}

// listUsers serves GET /users.
func (s *Server) listUsers(c *call) *graphError {
	q, err := s.parseListQuery(c.r)
	if err != nil {
		return err
	}
	shown := q.selects
	if shown == nil {
		shown = s.schema.defaults
	}

	s.mu.Lock()
	var page []*userRecord
	var next *pageToken
	total := 0
	if q.count || len(q.orderBy) > 0 {
		// @odata.count and $orderby need every match.
		var matches []*userRecord
		for u := range s.users.after(0) {
			if u.visible(c.now) && matchFilter(q.filter, u) {
				matches = append(matches, u)
			}
		}
		total = len(matches)
		if len(q.orderBy) > 0 {
			sortUsers(matches, q.orderBy)
		}
		page, next = paginate(matches, q)
	} else {
		page, next = s.pageAfter(c, q)
	}
	values := make([]map[string]any, len(page))
	for i, u := range page {
		values[i] = render(u, shown)
	}
	s.mu.Unlock()

	resp := map[string]any{"@odata.context": selectContext(q.selects), "value": values}
	if q.count {
		resp["@odata.count"] = total
	}
	if next != nil {
		resp["@odata.nextLink"] = nextLink(c.r, next.encode(len(q.orderBy) > 0))
	}
	c.writeJSON(http.StatusOK, resp)
	return nil
}

// paginate cuts one page of at most q.top users and returns the token of
// the next page, or nil on the last page.
func paginate(matches []*userRecord, q *listQuery) ([]*userRecord, *pageToken) {
	if len(q.orderBy) > 0 {
		start := min(q.token.offset, len(matches))
		end := min(start+q.top, len(matches))
		if end < len(matches) {
			return matches[start:end], &pageToken{offset: end}
		}
		return matches[start:end], nil
	}
	start := 0
	if q.token.set {
		start = sort.Search(len(matches), func(i int) bool { return matches[i].seq > q.token.after })
	}
	end := min(start+q.top, len(matches))
	page := matches[start:end]
	if end < len(matches) {
		return page, &pageToken{after: page[len(page)-1].seq}
	}
	return page, nil
}

// pageAfter is paginate for a query without $orderby and $count: it reads
// the users in creation order from the $skiptoken's position (a binary
// search) and stops after one match more than the page holds, instead of
// collecting every match. The caller holds s.mu.
func (s *Server) pageAfter(c *call, q *listQuery) ([]*userRecord, *pageToken) {
	var page []*userRecord
	for u := range s.users.after(q.token.after) {
		if !u.visible(c.now) || !matchFilter(q.filter, u) {
			continue
		}
		if len(page) == q.top {
			return page, &pageToken{after: page[len(page)-1].seq}
		}
		page = append(page, u)
	}
	return page, nil
}

func sortUsers(users []*userRecord, keys []orderKey) {
	sort.SliceStable(users, func(i, j int) bool {
		for _, k := range keys {
			a, _ := users[i].value(k.prop).(string)
			b, _ := users[j].value(k.prop).(string)
			a, b = strings.ToLower(a), strings.ToLower(b)
			if a == b {
				continue
			}
			return (a < b) != k.desc
		}
		return false
	})
}

// countUsers serves GET /users/$count. Graph docs, "Advanced query
// capabilities", error handling: without ConsistencyLevel: eventual Graph
// answers 400 Request_BadRequest "$count is not currently supported."; with
// it, the count as text/plain.
func (s *Server) countUsers(c *call) *graphError {
	if !isEventual(c.r) {
		return newError(http.StatusBadRequest, codeRequestBadRequest, msgCountNotSupported)
	}
	opts, err := queryOptions(c.r.URL, "$filter", "$search")
	if err != nil {
		return err
	}
	if _, ok := opts["$search"]; ok {
		return errNotEmulated("$search")
	}
	var filter filterNode
	if v, ok := opts["$filter"]; ok {
		if filter, err = parseFilter(v); err != nil {
			return err
		}
		if err = s.schema.checkFilter(filter, true, false); err != nil {
			return err
		}
	}
	n := 0
	s.mu.Lock()
	for _, u := range s.users.byID {
		if u.visible(c.now) && matchFilter(filter, u) {
			n++
		}
	}
	s.mu.Unlock()
	c.writeText(http.StatusOK, strconv.Itoa(n))
	return nil
}
