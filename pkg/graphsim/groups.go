package graphsim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
)

const groupsContext = graphMetadata + "#groups"

// routeGroups serves /groups and below.
func (s *Server) routeGroups(c *call, rest []string) *graphError {
	method := c.r.Method
	switch {
	case len(rest) == 0:
		switch method {
		case http.MethodGet:
			return s.listGroups(c)
		case http.MethodPost:
			return s.createGroup(c)
		}
		return errMethodNotAllowed()
	case isDeltaSegment(rest[0]):
		if method != http.MethodGet {
			return errMethodNotAllowed()
		}
		if len(rest) > 1 {
			return errSegmentNotFound(rest[1])
		}
		return s.groupDelta(c)
	case strings.EqualFold(rest[0], "$count") && len(rest) == 1:
		if method != http.MethodGet {
			return errMethodNotAllowed()
		}
		return s.countGroups(c)
	case len(rest) == 1:
		switch method {
		case http.MethodGet:
			return s.getGroup(c, rest[0])
		case http.MethodDelete:
			return s.deleteGroup(c, rest[0])
		case http.MethodPatch:
			return errNotEmulated("PATCH /groups/{id}")
		}
		return errMethodNotAllowed()
	}
	if s.lookupGroup(rest[0]) == nil {
		return errResourceNotFound(rest[0])
	}
	switch strings.ToLower(rest[1]) {
	case "members", "transitivemembers":
		return s.routeMembers(c, rest[0], rest[1:])
	case "owners", "memberof", "transitivememberof", "approleassignments", "settings":
		return errNotEmulated("/groups/{id}/" + rest[1])
	}
	return errSegmentNotFound(rest[1])
}

// routeMembers serves /groups/{id}/members and /transitiveMembers below:
// the lists (members.go), and the $ref writes on direct members.
func (s *Server) routeMembers(c *call, groupID string, rest []string) *graphError {
	transitive := strings.EqualFold(rest[0], "transitiveMembers")
	method := c.r.Method
	last := rest[len(rest)-1]
	switch {
	case !transitive && len(rest) == 2 && last == "$ref":
		switch method {
		case http.MethodPost:
			return s.addMember(c, groupID)
		case http.MethodDelete:
			return s.removeMemberByRef(c, groupID)
		case http.MethodGet:
			return errNotEmulated("GET /groups/{id}/members/$ref")
		}
		return errMethodNotAllowed()
	case !transitive && len(rest) == 3 && last == "$ref":
		if method != http.MethodDelete {
			return errMethodNotAllowed()
		}
		return s.removeMember(c, groupID, rest[1])
	case strings.EqualFold(last, "$ref"):
		return errNotEmulated(method + " /groups/{id}/" + strings.Join(rest, "/"))
	}
	if method != http.MethodGet {
		return errMethodNotAllowed()
	}
	req := memberRequest{groupID: groupID, transitive: transitive}
	rest = rest[1:]
	if len(rest) > 0 && isTypeCast(rest[0]) {
		req.cast = castName(rest[0])
		rest = rest[1:]
	}
	switch {
	case len(rest) == 1 && strings.EqualFold(rest[0], "$count"):
		req.count = true
	case len(rest) == 1 && req.cast == "":
		return errNotEmulated("GET /groups/{id}/members/{id}")
	case len(rest) > 0:
		return errSegmentNotFound(rest[0])
	}
	return s.listMembers(c, req)
}

// lookupGroup finds a group by id. It takes s.mu.
func (s *Server) lookupGroup(id string) *groupRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dir.groups[strings.ToLower(id)]
}

// touchObject records a change of a directory object other than a user:
// a new change number (groups/delta) and a new generation (autosave). The
// caller holds s.mu.
func (s *Server) touchObject(o *dirObject) {
	s.changeSeq++
	s.generation++
	if o != nil {
		o.changed = s.changeSeq
	}
}

// createGroup serves POST /groups. Graph docs, "Create group": the body
// must give displayName, mailEnabled, mailNickname and securityEnabled;
// 201 Created with the group. "members@odata.bind" may add members in the
// same request: "a maximum of 20 relationships, such as owners and
// members, can be added as part of group creation" (Graph docs, "Create
// group", example 2). A Microsoft 365 group (groupTypes ["Unified"]) gets
// mail <mailNickname>@<initial domain> (example 1 shows the mail and its
// SMTP proxy address).
func (s *Server) createGroup(c *call) *graphError {
	body, err := readBody(c.r)
	if err != nil {
		return err
	}
	sc := s.types.group
	props, err := sc.decodeObject(body)
	if err != nil {
		return err
	}
	for _, name := range []string{"displayName", "mailEnabled", "mailNickname", "securityEnabled"} {
		if v := props[name]; v == nil || v == "" {
			return errRequired(name)
		}
	}
	if err := validateGroup(sc, props); err != nil {
		return err
	}
	binds, err := memberBinds(body)
	if err != nil {
		return err
	}
	props["createdDateTime"] = c.now.UTC().Format(time.RFC3339)
	g := &groupRecord{dirObject: dirObject{id: newGUID(), props: props}, members: map[string]*memberMark{}}
	if g.unified() && props["mailEnabled"] == true {
		mail := props["mailNickname"].(string) + "@" + s.initial
		props["mail"] = mail
		props["proxyAddresses"] = []string{"SMTP:" + mail}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	var adds []memberMark
	for _, id := range binds {
		kind, ok := s.memberKind(id, c.now)
		if !ok {
			return errResourceNotFound(id)
		}
		adds = append(adds, memberMark{id: id, kind: kind})
	}
	g.seq = s.dir.nextCreation()
	s.dir.groups[strings.ToLower(g.id)] = g
	delete(s.dir.groupTombs, strings.ToLower(g.id))
	s.touchObject(&g.dirObject)
	for _, m := range adds {
		s.markMember(g, m.id, m.kind, true, c.now)
	}
	out := g.render(sc.defaults)
	out["@odata.context"] = groupsContext + "/$entity"
	c.writeJSON(http.StatusCreated, out)
	return nil
}

// validateGroup applies the limits of Graph docs, "group resource type":
// displayName at most 256 characters; mailNickname at most 64, "only
// characters in the ASCII character set 0 - 127 except the following:
// @ () \ [] " ; : <> , SPACE".
func validateGroup(sc *schema, props map[string]any) *graphError {
	if name, _ := props["displayName"].(string); len([]rune(name)) > 256 {
		return errInvalidValueOf(sc, "displayName")
	}
	nick, _ := props["mailNickname"].(string)
	if len([]rune(nick)) > 64 || strings.ContainsFunc(nick, func(r rune) bool {
		return r > unicode.MaxASCII || strings.ContainsRune(`@()\[]";:<>, `, r)
	}) {
		return errInvalidValueOf(sc, "mailNickname")
	}
	return nil
}

// memberBinds reads "members@odata.bind" from a create body: directory
// object URLs, at most 20.
func memberBinds(body []byte) ([]string, *graphError) {
	var raw map[string]json.RawMessage
	if json.Unmarshal(body, &raw) != nil {
		return nil, errUnreadablePayload()
	}
	var ids []string
	for k, v := range raw {
		if !strings.EqualFold(k, "members@odata.bind") {
			continue
		}
		var urls []string
		if json.Unmarshal(v, &urls) != nil {
			return nil, errConvert(v, kindStrings)
		}
		if len(urls) > 20 {
			// The limit is documented; the message is the emulator's.
			return nil, newError(http.StatusBadRequest, codeRequestBadRequest,
				fmt.Sprintf("members@odata.bind names %d objects; at most 20 can be added in one request.", len(urls)))
		}
		for _, u := range urls {
			id, err := refID(u)
			if err != nil {
				return nil, err
			}
			ids = append(ids, id)
		}
	}
	return ids, nil
}

// refID extracts the object id from a reference URL such as
// https://graph.microsoft.com/v1.0/directoryObjects/{id} (Graph docs, "Add
// members", request body), also accepting /users/{id} and /groups/{id} and
// any host (an emulator's own URL). Graph's answer to an id it cannot
// parse is "Invalid object identifier '...'." (Request_BadRequest).
func refID(ref string) (string, *graphError) {
	bad := newError(http.StatusBadRequest, codeRequestBadRequest, fmt.Sprintf("Invalid object identifier '%s'.", ref))
	u, err := url.Parse(ref)
	if err != nil {
		return "", bad
	}
	segs := strings.Split(strings.Trim(u.Path, "/"), "/")
	if len(segs) < 2 {
		return "", bad
	}
	switch strings.ToLower(segs[len(segs)-2]) {
	case "directoryobjects", "users", "groups":
	default:
		return "", bad
	}
	id := segs[len(segs)-1]
	if !isGUID(id) {
		return "", bad
	}
	return id, nil
}

func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, r := range s {
		switch i {
		case 8, 13, 18, 23:
			if r != '-' {
				return false
			}
		default:
			if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
				return false
			}
		}
	}
	return true
}

// memberKind tells what id names, as a group member: an active user
// visible at now, or a group. The caller holds s.mu.
func (s *Server) memberKind(id string, now time.Time) (string, bool) {
	key := strings.ToLower(id)
	if u := s.users.byID[key]; u != nil && u.visible(now) {
		return "user", true
	}
	if s.dir.groups[key] != nil {
		return "group", true
	}
	return "", false
}

// markMember records that id joined (present) or left g at now, at a new
// change number, and touches g for groups/delta. The caller holds s.mu.
func (s *Server) markMember(g *groupRecord, id, kind string, present bool, now time.Time) {
	s.touchObject(&g.dirObject)
	key := strings.ToLower(id)
	m := g.members[key]
	if m == nil {
		m = &memberMark{id: id, kind: kind}
		g.members[key] = m
	}
	if present && !m.present {
		m.order = s.changeSeq
	}
	m.was, m.indexedAt = m.present, s.lagUntil(now)
	m.present, m.seq = present, s.changeSeq
}

// addMember serves POST /groups/{id}/members/$ref. Graph docs, "Add
// members": 204 No Content; "400 Bad Request ... when the object is
// already a member of the group"; "404 Not Found ... when the object being
// added doesn't exist". The 400 reads Request_BadRequest "One or more added
// object references already exist for the following modified properties:
// 'members'." (the answer Graph clients match, e.g. n8n's Microsoft Entra
// node). Users and groups can be members (nesting); other member types are
// not emulated.
func (s *Server) addMember(c *call, groupID string) *graphError {
	body, gerr := readBody(c.r)
	if gerr != nil {
		return gerr
	}
	var ref map[string]json.RawMessage
	if json.Unmarshal(body, &ref) != nil {
		return errUnreadablePayload()
	}
	var target string
	if json.Unmarshal(ref["@odata.id"], &target) != nil || target == "" {
		return newError(http.StatusBadRequest, codeBadRequest, "The request body must name the object to add in @odata.id.")
	}
	id, gerr := refID(target)
	if gerr != nil {
		return gerr
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.dir.groups[strings.ToLower(groupID)]
	if g == nil {
		return errResourceNotFound(groupID)
	}
	kind, ok := s.memberKind(id, c.now)
	if !ok {
		if s.dir.sps[strings.ToLower(id)] != nil {
			return errNotEmulated("service principals as group members")
		}
		return errResourceNotFound(id)
	}
	if m := g.members[strings.ToLower(id)]; m != nil && m.present {
		return newError(http.StatusBadRequest, codeRequestBadRequest,
			"One or more added object references already exist for the following modified properties: 'members'.")
	}
	s.markMember(g, id, kind, true, c.now)
	c.writeNoContent()
	return nil
}

// removeMember serves DELETE /groups/{id}/members/{memberId}/$ref. Graph
// docs, "Remove member": 204 No Content. An object that is not a member
// gets 404 Request_ResourceNotFound "One or more removed object references
// do not exist for the following modified properties: 'members'." (the
// text Graph clients match, e.g. hashicorp/go-azure-sdk's msgraph errors).
func (s *Server) removeMember(c *call, groupID, memberID string) *graphError {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.dir.groups[strings.ToLower(groupID)]
	if g == nil {
		return errResourceNotFound(groupID)
	}
	m := g.members[strings.ToLower(memberID)]
	if m == nil || !m.present {
		return newError(http.StatusNotFound, codeResourceNotFound,
			"One or more removed object references do not exist for the following modified properties: 'members'.")
	}
	s.markMember(g, m.id, m.kind, false, c.now)
	c.writeNoContent()
	return nil
}

// removeMemberByRef serves DELETE /groups/{id}/members/$ref?@id={url},
// the form msgraph-sdk-go's Members().Ref().Delete sends (its URL template
// "/groups/{group-id}/members/$ref?@id={%40id}"); Graph docs, "Remove
// member", also shows "?$id=". The URL names the member as in "Add
// members".
func (s *Server) removeMemberByRef(c *call, groupID string) *graphError {
	q := c.r.URL.Query()
	ref := q.Get("@id")
	if ref == "" {
		ref = q.Get("$id")
	}
	if ref == "" {
		return newError(http.StatusBadRequest, codeBadRequest,
			"The request must name the member to remove: /members/{id}/$ref or /members/$ref?@id={url}.")
	}
	id, err := refID(ref)
	if err != nil {
		return err
	}
	return s.removeMember(c, groupID, id)
}

// getGroup serves GET /groups/{id} (Graph docs, "Get group"; $select as on
// a list).
func (s *Server) getGroup(c *call, id string) *graphError {
	opts, err := queryOptions(c.r.URL, "$select", "$expand", "$format")
	if err != nil {
		return err
	}
	if _, ok := opts["$expand"]; ok {
		return errNotEmulated("$expand")
	}
	sc := s.types.group
	selects, err := sc.parseSelect(opts["$select"])
	if err != nil {
		return err
	}
	s.mu.Lock()
	g := s.dir.groups[strings.ToLower(id)]
	var out map[string]any
	if g != nil {
		out = g.render(orDefaults(selects, sc))
	}
	s.mu.Unlock()
	if g == nil {
		return errResourceNotFound(id)
	}
	out["@odata.context"] = projectionContext(groupsContext, selects) + "/$entity"
	c.writeJSON(http.StatusOK, out)
	return nil
}

// listGroups serves GET /groups (Graph docs, "List groups"): the query
// options and paging of GET /users, against the group's properties.
func (s *Server) listGroups(c *call) *graphError {
	sc := s.types.group
	q, err := sc.parseListQuery(c.r)
	if err != nil {
		return err
	}
	s.mu.Lock()
	var items []listed
	for _, g := range s.dir.orderedGroups() {
		items = append(items, listed{seq: g.seq, value: g.value, render: g.render})
	}
	resp := collectionPage(c, q, sc, items)
	s.mu.Unlock()
	resp["@odata.context"] = projectionContext(groupsContext, q.selects)
	c.writeJSON(http.StatusOK, resp)
	return nil
}

// countGroups serves GET /groups/$count with the rule of GET
// /users/$count (countUsers): ConsistencyLevel: eventual or 400.
func (s *Server) countGroups(c *call) *graphError {
	if !isEventual(c.r) {
		return newError(http.StatusBadRequest, codeRequestBadRequest, msgCountNotSupported)
	}
	opts, err := queryOptions(c.r.URL, "$filter")
	if err != nil {
		return err
	}
	var filter filterNode
	if v, ok := opts["$filter"]; ok {
		if filter, err = parseFilter(v); err != nil {
			return err
		}
		if err = s.types.group.checkFilter(filter, true, false); err != nil {
			return err
		}
	}
	n := 0
	s.mu.Lock()
	for _, g := range s.dir.groups {
		if matchValues(filter, g.value) {
			n++
		}
	}
	s.mu.Unlock()
	c.writeText(http.StatusOK, strconv.Itoa(n))
	return nil
}

// deleteGroup serves DELETE /groups/{id}. Graph docs, "Delete group": 204
// No Content; "Microsoft 365 groups are moved to a temporary container and
// can be restored within 30 days", which "isn't applicable to Security
// groups and Distribution groups which are permanently deleted
// immediately". groups/delta reports the removal with reason "changed" for a
// Microsoft 365 group and "deleted" for the others; the emulator does not
// keep deleted groups for a restore. Memberships of the group in other
// groups end with it.
func (s *Server) deleteGroup(c *call, id string) *graphError {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := strings.ToLower(id)
	g := s.dir.groups[key]
	if g == nil {
		return errResourceNotFound(id)
	}
	delete(s.dir.groups, key)
	for _, parent := range s.dir.groups {
		if m := parent.members[key]; m != nil && m.present {
			s.markMember(parent, m.id, m.kind, false, c.now)
		}
	}
	reason := "deleted"
	if g.unified() {
		reason = "changed"
	}
	s.touchObject(nil)
	s.dir.groupTombs[key] = tombstone{id: g.id, seq: s.changeSeq, reason: reason}
	c.writeNoContent()
	return nil
}

// userMembershipsChanged touches the groups that list u as a direct
// member, after u was deleted or restored: groups/delta reports the member
// as removed or added again ("either by removing the membership or by
// deleting the user object itself", Graph docs, "Get incremental changes
// for groups"). The membership itself is kept, so that a restored user is a
// member again, as Entra restores the memberships of a restored user. The
// caller holds s.mu.
func (s *Server) userMembershipsChanged(u *userRecord, forever bool) {
	key := strings.ToLower(u.id)
	for _, g := range s.dir.groups {
		m := g.members[key]
		if m == nil || !m.present {
			continue
		}
		s.touchObject(&g.dirObject)
		m.seq = s.changeSeq
		if forever {
			m.present = false
		}
	}
}

// errInvalidValueOf is errInvalidValue for a resource other than User.
func errInvalidValueOf(sc *schema, property string) *graphError {
	msg := fmt.Sprintf("Invalid value specified for property '%s' of resource '%s'.", property, sc.resource)
	return newError(http.StatusBadRequest, codeRequestBadRequest, msg,
		errorDetail{Code: codeInvalidValue, Message: msg, Target: property})
}
