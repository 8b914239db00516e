package graphsim

import (
	"net/http"
	"slices"
	"strings"
)

// maxDeltaFilterIDs: Graph docs, "group: delta", $filter: "There is a
// limit of 50 filtered objects."
const maxDeltaFilterIDs = 50

// groupDelta serves GET /groups/delta. Graph docs, "group: delta" and "Get
// incremental changes for groups":
//   - the first round pages through every group with @odata.nextLink and
//     ends with @odata.deltaLink; query parameters given to the first
//     request are encoded in the tokens;
//   - "You can use $select=members to get membership changes"; without
//     $select the default properties and members@delta come back
//     ("members@delta ... is included in group objects by default, when the
//     $select query parameter has not been specified, or when the
//     $expand=members parameter is explicitly specified"); "Only the id
//     property of the related resource is returned", with its @odata.type;
//     a group without members has no members@delta;
//   - "The id property is always returned";
//   - a later round returns the groups created, changed or removed since,
//     and in members@delta the members added since and the ones removed,
//     "either by removing the membership or by deleting the user object
//     itself", as {"@odata.type", "id", "@removed": {"reason":
//     "deleted"}}; a removed group is {"id", "@removed": {"reason": ...}}
//     (see deleteGroup);
//   - $deltatoken=latest starts from now (syncFromNow);
//   - "The only supported $filter expression is for tracking changes on a
//     specific object: $filter=id+eq+{value}. You can filter multiple
//     objects" (joined by or), "a limit of 50 filtered objects".
//
// A group changed while a round pages may come twice in that round (its
// members@delta is a statement of the current membership changes, so a
// repeat is harmless); a large group's members@delta is not split across
// pages (Graph may split it; clients merge either way).
func (s *Server) groupDelta(c *call) *graphError {
	opts, err := queryOptions(c.r.URL, "$select", "$deltatoken", "$skiptoken", "$filter", "$expand", "$format")
	if err != nil {
		return err
	}
	pageSize, err := deltaPageSizeOf(c, "groups/delta")
	if err != nil {
		return err
	}
	fromNow := syncFromNow(opts)
	tok, started, err := s.continueDelta(c, opts, "groups")
	if err != nil {
		return err
	}
	_, paging := opts["$skiptoken"]
	switch {
	case started:
		tok = deltaToken{Kind: "groups", Since: tok.Since, Select: tok.Select, Members: tok.Members, IDs: tok.IDs}
	case paging:
	default:
		if tok, err = s.startGroupDelta(opts); err != nil {
			return err
		}
	}
	sc := s.types.group
	selects, err := sc.parseSelect(strings.Join(tok.Select, ","))
	if err != nil {
		return err
	}
	if fromNow {
		s.mu.Lock()
		since := s.changeSeq
		s.mu.Unlock()
		s.writeDeltaLinkOnly(c, projectionContext(groupsContext, selects),
			deltaToken{Kind: "groups", Since: since, Select: tok.Select, Members: tok.Members, IDs: tok.IDs})
		return nil
	}
	shown := orDefaults(selects, sc)

	s.mu.Lock()
	if !paging {
		tok.Upto = max(s.changeSeq, tok.Since)
	}
	entries, more := s.groupDeltaPage(tok, pageSize)
	values := make([]map[string]any, len(entries))
	for i, e := range entries {
		if e.group == nil {
			values[i] = map[string]any{"id": e.tomb.id, "@removed": map[string]any{"reason": e.tomb.reason}}
			continue
		}
		out := map[string]any{"id": e.group.id}
		for _, p := range shown {
			if v := e.group.value(p); hasValue(v) {
				out[p.name] = v
			}
		}
		if tok.Members {
			if members := s.membersDelta(e.group, tok, c); len(members) > 0 {
				out["members@delta"] = members
			}
		}
		values[i] = out
	}
	epoch := s.deltaEpoch
	s.mu.Unlock()

	resp := map[string]any{"@odata.context": projectionContext(groupsContext, selects), "value": values}
	link := linkBase(c.r) + "?"
	if more {
		next := tok
		next.After = entries[len(entries)-1].key
		resp["@odata.nextLink"] = link + "$skiptoken=" + s.encodeToken(next)
	} else {
		next := deltaToken{Kind: "groups", Since: tok.Upto, Select: tok.Select, Members: tok.Members, IDs: tok.IDs,
			Issued: c.now.UnixNano(), Epoch: epoch}
		resp["@odata.deltaLink"] = link + "$deltatoken=" + s.encodeToken(next)
	}
	c.writeJSON(http.StatusOK, resp)
	return nil
}

// startGroupDelta reads the query options of a first request: $select
// (members being the relationship to track), $expand=members (the older
// documented way to ask for members@delta) and $filter on ids.
func (s *Server) startGroupDelta(opts map[string]string) (deltaToken, *graphError) {
	tok := deltaToken{Kind: "groups", Initial: true}
	sel, hasSelect := opts["$select"]
	tok.Members = !hasSelect || strings.TrimSpace(sel) == ""
	var names []string
	for _, name := range strings.Split(sel, ",") {
		switch name = strings.TrimSpace(name); {
		case name == "":
		case strings.EqualFold(name, "members"):
			tok.Members = true
		default:
			names = append(names, name)
		}
	}
	if exp, ok := opts["$expand"]; ok {
		if !strings.EqualFold(strings.TrimSpace(exp), "members") {
			return tok, errNotEmulated("$expand=" + exp + " on groups/delta")
		}
		tok.Members = true
	}
	selects, err := s.types.group.parseSelect(strings.Join(names, ","))
	if err != nil {
		return tok, err
	}
	for _, p := range selects {
		tok.Select = append(tok.Select, p.name)
	}
	if hasSelect && len(tok.Select) == 0 {
		tok.Select = []string{"id"} // $select=members alone: id and members@delta
	}
	if f, ok := opts["$filter"]; ok {
		if tok.IDs, err = deltaFilterIDs(f, "groups/delta"); err != nil {
			return tok, err
		}
	}
	return tok, nil
}

// deltaFilterIDs reads "id eq 'x' or id eq 'y' ...", the only $filter
// users/delta and groups/delta support (Graph docs, "user: delta" and
// "group: delta": "The only supported $filter expression is for tracking
// changes on a specific object ... There is a limit of 50 filtered
// objects"); anything else is 400 Request_UnsupportedQuery (the status of
// an unsupported filter; the message is the emulator's).
func deltaFilterIDs(expr, what string) ([]string, *graphError) {
	n, err := parseFilter(expr)
	if err != nil {
		return nil, err
	}
	unsupported := newError(http.StatusBadRequest, codeUnsupportedQuery,
		what+" supports only $filter=id eq '{id}', several joined by 'or'.")
	var ids []string
	var walk func(filterNode) bool
	walk = func(n filterNode) bool {
		switch n := n.(type) {
		case *logicNode:
			return !n.and && walk(n.left) && walk(n.right)
		case *compareNode:
			if !strings.EqualFold(n.name, "id") || n.op != "eq" || n.values[0].kind != litString {
				return false
			}
			ids = append(ids, strings.ToLower(n.values[0].text))
			return true
		}
		return false
	}
	if !walk(n) {
		return nil, unsupported
	}
	if len(ids) > maxDeltaFilterIDs {
		return nil, newError(http.StatusBadRequest, codeUnsupportedQuery,
			what+" accepts at most 50 ids in $filter.")
	}
	return ids, nil
}

type groupDeltaEntry struct {
	key   uint64 // creation number (first round) or change number
	group *groupRecord
	tomb  tombstone
}

// groupDeltaPage cuts the next page of a round after the cursor: the
// first round lists the groups in creation order; a later one the groups
// changed and removed after Since, in change-number order. The caller
// holds s.mu.
func (s *Server) groupDeltaPage(tok deltaToken, size int) ([]groupDeltaEntry, bool) {
	wanted := tok.wants
	var all []groupDeltaEntry
	if tok.Initial {
		for _, g := range s.dir.orderedGroups() {
			if g.seq > tok.After && wanted(g.id) {
				all = append(all, groupDeltaEntry{key: g.seq, group: g})
			}
		}
	} else {
		from := max(tok.Since, tok.After)
		for _, g := range s.dir.groups {
			if g.changed > from && wanted(g.id) {
				all = append(all, groupDeltaEntry{key: g.changed, group: g})
			}
		}
		for _, t := range s.dir.groupTombs {
			if t.seq > from && wanted(t.id) {
				all = append(all, groupDeltaEntry{key: t.seq, tomb: t})
			}
		}
		slices.SortFunc(all, func(a, b groupDeltaEntry) int { return cmpSeq(a.key, b.key) })
	}
	if len(all) > size {
		return all[:size], true
	}
	return all, false
}

// membersDelta is a group's members@delta: in the first round its current
// direct members; later, the memberships changed after Since, present
// ones as added and the others as removed. The caller holds s.mu.
func (s *Server) membersDelta(g *groupRecord, tok deltaToken, c *call) []map[string]any {
	var out []map[string]any
	if tok.Initial {
		for _, o := range s.directMembers(g, c, false) {
			out = append(out, map[string]any{"@odata.type": "#microsoft.graph." + o.kind(), "id": o.objectID()})
		}
		return out
	}
	marks := make([]*memberMark, 0)
	for _, m := range g.members {
		if m.seq > tok.Since {
			marks = append(marks, m)
		}
	}
	slices.SortFunc(marks, func(a, b *memberMark) int { return cmpSeq(a.seq, b.seq) })
	for _, m := range marks {
		entry := map[string]any{"@odata.type": "#microsoft.graph." + m.kind, "id": m.id}
		if _, ok := s.effective(m, c, false); !ok {
			entry["@removed"] = map[string]any{"reason": "deleted"}
		}
		out = append(out, entry)
	}
	return out
}
