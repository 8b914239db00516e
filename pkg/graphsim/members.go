package graphsim

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
)

const directoryObjectsContext = graphMetadata + "#directoryObjects"

// msgReferenceFilter is Graph's answer to a $filter or an OData cast on a
// membership list without the advanced query parameters: 400
// Request_UnsupportedQuery "The specified filter to the reference property
// query is currently not supported." (microsoftgraph/microsoft-graph-docs
// issues #11242 and #12152, answered by adding ConsistencyLevel: eventual
// and $count=true).
const msgReferenceFilter = "The specified filter to the reference property query is currently not supported."

// memberRequest is one GET of a membership list.
type memberRequest struct {
	groupID    string
	transitive bool   // transitiveMembers rather than members
	cast       string // "user" or "group" after an OData cast segment; "" for none
	count      bool   // the $count segment
}

// listed is one object of a collection response, seen through the
// functions that filter, sort and render it.
type listed struct {
	seq    uint64 // the collection's order, increasing: the paging cursor
	value  func(*propDef) any
	render func([]*propDef) map[string]any
}

// collectionPage applies q to items (in collection order): $filter,
// $orderby, @odata.count and paging with an absolute @odata.nextLink, as
// listUsers does. selects nil renders sc's default set. The caller adds
// @odata.context.
func collectionPage(c *call, q *listQuery, sc *schema, items []listed) map[string]any {
	var matches []listed
	for _, it := range items {
		if matchValues(q.filter, it.value) {
			matches = append(matches, it)
		}
	}
	if len(q.orderBy) > 0 {
		slices.SortStableFunc(matches, func(a, b listed) int {
			for _, k := range q.orderBy {
				x, _ := a.value(k.prop).(string)
				y, _ := b.value(k.prop).(string)
				if c := strings.Compare(strings.ToLower(x), strings.ToLower(y)); c != 0 {
					if k.desc {
						return -c
					}
					return c
				}
			}
			return 0
		})
	}
	var page []listed
	var next *pageToken
	if len(q.orderBy) > 0 {
		start := min(q.token.offset, len(matches))
		end := min(start+q.top, len(matches))
		page = matches[start:end]
		if end < len(matches) {
			next = &pageToken{offset: end}
		}
	} else {
		start := 0
		if q.token.set {
			start = len(matches)
			for i, it := range matches {
				if it.seq > q.token.after {
					start = i
					break
				}
			}
		}
		end := min(start+q.top, len(matches))
		page = matches[start:end]
		if end < len(matches) {
			next = &pageToken{after: page[len(page)-1].seq}
		}
	}
	values := make([]map[string]any, len(page))
	for i, it := range page {
		values[i] = it.render(orDefaults(q.selects, sc))
	}
	resp := map[string]any{"value": values}
	if q.count {
		resp["@odata.count"] = len(matches)
	}
	if next != nil {
		resp["@odata.nextLink"] = nextLink(c.r, next.encode(len(q.orderBy) > 0))
	}
	return resp
}

func orDefaults(selects []*propDef, sc *schema) []*propDef {
	if selects == nil {
		return sc.defaults
	}
	return selects
}

// projectionContext is the @odata.context of a projection: "#groups(a,b)".
func projectionContext(base string, selects []*propDef) string {
	if selects == nil {
		return base
	}
	names := make([]string, len(selects))
	for i, p := range selects {
		names[i] = p.name
	}
	return base + "(" + strings.Join(names, ",") + ")"
}

// memberSchema is the schema a membership list reads its query options
// against: the cast's type, or for a list of directoryObjects every
// property of a user or a group (each object shows the ones its type has).
func (s *Server) memberSchema(cast string) (*schema, *graphError) {
	switch cast {
	case "user":
		return s.schema, nil
	case "group":
		return s.types.group, nil
	case "":
		props := append([]*propDef(nil), s.schema.props...)
		for _, p := range s.types.group.props {
			if s.schema.byName[p.name] == nil {
				props = append(props, p)
			}
		}
		sc := newSchema("directoryObject", "DirectoryObject", props)
		sc.defaults = nil // each object shows its own type's default set (memberItem)
		return sc, nil
	}
	// Graph docs, "List group transitive members": "An attempt to filter by
	// an OData cast that represents an unsupported member type returns a
	// 400 Bad Request error with the Request_UnsupportedQuery code."
	return nil, newError(http.StatusBadRequest, codeUnsupportedQuery,
		"The OData cast to microsoft.graph."+cast+" is not a supported member type.")
}

// listMembers serves GET /groups/{id}/members and /transitiveMembers, with
// an optional OData cast (microsoft.graph.user or .group) and $count
// segment. Graph docs, "List group members" and "List group transitive
// members": a collection of directoryObjects, each with its @odata.type;
// transitiveMembers "returns a flat list of all nested members" (here:
// breadth first, each object once, cycles followed once, the group itself
// left out); default page size 100, $top up to 999.
//
// Advanced query parameters, Graph docs, "List group transitive members":
// "To filter the results on the OData type, such as microsoft.graph.user
// or microsoft.graph.group, you must use the advanced query parameters.
// That is, the ConsistencyLevel header set to eventual and the $count=true
// query string"; the ConsistencyLevel header "and $count are required when
// using the $search, $filter, $orderby, or OData cast query parameters".
// So on transitiveMembers a cast, $filter or $orderby without them is 400
// Request_UnsupportedQuery (msgReferenceFilter). On direct members a cast
// works by default ("List group members": "OData cast is also enabled"),
// while $filter and $orderby are advanced queries there too ("Advanced
// query capabilities": group members is a relationship with advanced query
// support). A page continues at a position in the list: a membership
// change between two pages can shift the rest by one. The $count segment
// needs ConsistencyLevel: eventual
// ("Advanced query capabilities", error handling: 400 "$count is not
// currently supported." without it).
func (s *Server) listMembers(c *call, req memberRequest) *graphError {
	if req.count && !isEventual(c.r) {
		return newError(http.StatusBadRequest, codeRequestBadRequest, msgCountNotSupported)
	}
	sc, err := s.memberSchema(req.cast)
	if err != nil {
		return err
	}
	q, err := sc.parseListQuery(c.r)
	if err != nil {
		return err
	}
	// The $count segment with ConsistencyLevel: eventual is itself the
	// advanced query (Graph docs' example: transitiveMembers/$count with
	// the header only).
	q.advanced = q.advanced || req.count
	if !q.advanced && (q.filter != nil || (req.cast != "" && req.transitive)) {
		return newError(http.StatusBadRequest, codeUnsupportedQuery, msgReferenceFilter)
	}
	if !q.advanced && len(q.orderBy) > 0 {
		return newError(http.StatusBadRequest, codeUnsupportedQuery, msgSortingNotSupported)
	}

	s.mu.Lock()
	g := s.dir.groups[strings.ToLower(req.groupID)]
	if g == nil {
		s.mu.Unlock()
		return errResourceNotFound(req.groupID)
	}
	var objects []memberObject
	if req.transitive {
		objects = s.transitiveMembers(g, c, q.advanced)
	} else {
		objects = s.directMembers(g, c, q.advanced)
	}
	var items []listed
	for i, o := range objects {
		if req.cast != "" && o.kind() != req.cast {
			continue
		}
		items = append(items, s.memberItem(o, uint64(i+1), req.cast == ""))
	}
	if req.count {
		n := 0
		for _, it := range items {
			if matchValues(q.filter, it.value) {
				n++
			}
		}
		s.mu.Unlock()
		c.writeText(http.StatusOK, strconv.Itoa(n))
		return nil
	}
	resp := collectionPage(c, q, sc, items)
	s.mu.Unlock()
	base := directoryObjectsContext
	switch req.cast {
	case "user":
		base = usersContext
	case "group":
		base = groupsContext
	}
	resp["@odata.context"] = projectionContext(base, q.selects)
	c.writeJSON(http.StatusOK, resp)
	return nil
}

// memberObject is a member as the lists show it: a user or a group.
type memberObject struct {
	user  *userRecord
	group *groupRecord
}

func (o memberObject) kind() string {
	if o.user != nil {
		return "user"
	}
	return "group"
}

// memberItem renders a member: a user with the user's properties, a group
// with the group's; in a list of directoryObjects (typed) each carries its
// @odata.type and shows the selected properties its type has.
func (s *Server) memberItem(o memberObject, seq uint64, typed bool) listed {
	own := s.schema
	value := func(p *propDef) any { return nil }
	if o.user != nil {
		value = o.user.value
	} else {
		own = s.types.group
		value = o.group.value
	}
	return listed{seq: seq, value: value, render: func(props []*propDef) map[string]any {
		if props == nil {
			props = own.defaults
		}
		out := make(map[string]any, len(props)+1)
		for _, p := range props {
			if own.byName[p.name] == nil && p.parent == nil {
				continue
			}
			out[p.name] = value(p)
		}
		if typed {
			out["@odata.type"] = "#microsoft.graph." + o.kind()
		}
		return out
	}}
}

// effective resolves a membership mark to the member the lists show: a
// present member that is an active user visible at now, or an existing
// group. indexed reads through the advanced-query index, which sees a
// change only once Faults.Lag has passed (memberMark.indexedAt). The
// caller holds s.mu.
func (s *Server) effective(m *memberMark, c *call, indexed bool) (memberObject, bool) {
	present := m.present
	if indexed && c.now.Before(m.indexedAt) {
		present = m.was
	}
	if !present {
		return memberObject{}, false
	}
	key := strings.ToLower(m.id)
	if m.kind == "user" {
		u := s.users.byID[key]
		return memberObject{user: u}, u != nil && u.visible(c.now)
	}
	g := s.dir.groups[key]
	return memberObject{group: g}, g != nil
}

// directMembers lists g's members in the order they were added (see
// effective for indexed). The caller holds s.mu.
func (s *Server) directMembers(g *groupRecord, c *call, indexed bool) []memberObject {
	marks := make([]*memberMark, 0, len(g.members))
	for _, m := range g.members {
		if m.present || (indexed && m.was) {
			marks = append(marks, m)
		}
	}
	slices.SortFunc(marks, func(a, b *memberMark) int { return cmpSeq(a.order, b.order) })
	var out []memberObject
	for _, m := range marks {
		if o, ok := s.effective(m, c, indexed); ok {
			out = append(out, o)
		}
	}
	return out
}

// transitiveMembers lists every object reachable from g through
// memberships, breadth first, each once. A cycle (A in B, B in A) ends
// where it comes back to an object already listed; g itself is never
// listed. The caller holds s.mu.
func (s *Server) transitiveMembers(g *groupRecord, c *call, indexed bool) []memberObject {
	seen := map[string]bool{strings.ToLower(g.id): true}
	var out []memberObject
	queue := []*groupRecord{g}
	for len(queue) > 0 {
		next := queue[0]
		queue = queue[1:]
		for _, o := range s.directMembers(next, c, indexed) {
			id := o.id()
			if seen[id] {
				continue
			}
			seen[id] = true
			out = append(out, o)
			if o.group != nil {
				queue = append(queue, o.group)
			}
		}
	}
	return out
}

func (o memberObject) id() string { return strings.ToLower(o.objectID()) }

func (o memberObject) objectID() string {
	if o.user != nil {
		return o.user.id
	}
	return o.group.id
}
