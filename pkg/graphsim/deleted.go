package graphsim

import (
	"bytes"
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"time"
)

// retention is how long a deleted user can be restored. Graph docs,
// "Restore deleted item (directory object)": "A recently deleted item
// remains available for up to 30 days. After 30 days, the item is
// permanently deleted."
const retention = 30 * 24 * time.Hour

const (
	deletedUsersContext = graphMetadata + "#directory/deletedItems/microsoft.graph.user"
	directoryObjContext = graphMetadata + "#directoryObjects/$entity"
)

// routeDirectory serves /directory/deletedItems and below.
func (s *Server) routeDirectory(c *call, rest []string) *graphError {
	if len(rest) == 0 {
		return errNotEmulated("/directory")
	}
	if !strings.EqualFold(rest[0], "deletedItems") {
		return errNotEmulated("/directory/" + rest[0])
	}
	rest = rest[1:]
	method := c.r.Method
	switch {
	case len(rest) == 0:
		// Graph docs, "List deletedItems": "The OData cast type is a
		// required part of the URI and calling GET /directory/deleteditems
		// without a type is not supported." (The exact error text is not
		// documented; this one says what is missing.)
		return newError(http.StatusBadRequest, codeRequestBadRequest,
			"The OData cast type is a required part of the URI, e.g. /directory/deletedItems/microsoft.graph.user.")
	case isTypeCast(rest[0]):
		if castName(rest[0]) != "user" {
			return errNotEmulated("deleted " + castName(rest[0]) + " objects")
		}
		if len(rest) > 1 {
			return errSegmentNotFound(rest[1])
		}
		if method != http.MethodGet {
			return errMethodNotAllowed()
		}
		return s.listDeleted(c)
	case len(rest) == 1:
		switch method {
		case http.MethodGet:
			return s.getDeleted(c, rest[0])
		case http.MethodDelete:
			return s.hardDelete(c, rest[0])
		}
		return errMethodNotAllowed()
	case len(rest) == 2 && strings.EqualFold(strings.TrimPrefix(rest[1], "microsoft.graph."), "restore"):
		if method != http.MethodPost {
			return errMethodNotAllowed()
		}
		return s.restore(c, rest[0])
	}
	return errSegmentNotFound(rest[len(rest)-1])
}

// Graph's OData metadata declares "graph" as the alias of the
// microsoft.graph namespace, so /deletedItems/graph.user (what
// msgraph-sdk-go sends) and /deletedItems/microsoft.graph.user are the
// same cast.
func isTypeCast(seg string) bool {
	l := strings.ToLower(seg)
	return strings.HasPrefix(l, "microsoft.graph.") || strings.HasPrefix(l, "graph.")
}

// castName is the type name of a cast segment: "user" for
// microsoft.graph.user and graph.user.
func castName(seg string) string {
	l := strings.ToLower(seg)
	return strings.TrimPrefix(strings.TrimPrefix(l, "microsoft."), "graph.")
}

// softDelete moves u to directory/deletedItems with its deletedDateTime set
// (Graph docs, "user resource type": deletedDateTime "The date and time the
// user was deleted"). Delta reports it as removed with reason "changed"
// (Graph docs, "Get incremental changes for users": "@removed ... reason
// changed" for a user that "was deleted and can be restored"). The caller
// holds s.mu.
func (s *Server) softDelete(u *userRecord, now time.Time) {
	s.users.remove(u)
	u.props["deletedDateTime"] = now.UTC().Format(time.RFC3339)
	s.deleted[strings.ToLower(u.id)] = &deletedUser{u: u, at: now}
	s.binOldest.note(now)
	s.touch(nil)
	s.bury(u.id, "changed")
	s.userMembershipsChanged(u, false)
}

// removeForever deletes a soft-deleted user permanently; delta reports
// reason "deleted" ("deleted permanently"). The caller holds s.mu.
func (s *Server) removeForever(d *deletedUser) {
	delete(s.deleted, strings.ToLower(d.u.id))
	s.touch(nil)
	s.bury(d.u.id, "deleted")
	s.userMembershipsChanged(d.u, true)
}

// bury records the removal of the user with id at the current change
// number, for delta. The caller holds s.mu.
func (s *Server) bury(id, reason string) {
	key := strings.ToLower(id)
	s.tombstones[key] = tombstone{id: id, seq: s.changeSeq, reason: reason}
	s.logChange(changeEntry{seq: s.changeSeq, tomb: key})
}

// purgeExpired permanently deletes users deleted more than 30 (emulated)
// days ago. It runs on every request, so it looks at the recycle bin only
// when s.binOldest says an item could have expired, and then renews the
// bound from the items kept.
func (s *Server) purgeExpired(now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ttl := s.scaled(retention)
	if !s.binOldest.mayExpire(now, ttl) {
		return
	}
	var kept deletedBound
	for _, d := range s.deleted {
		if now.Sub(d.at) >= ttl {
			s.removeForever(d)
			continue
		}
		kept.note(d.at)
	}
	s.binOldest = kept
}

// deletedBound bounds from below the deletion times of the recycle bin's
// items; removing an item leaves it a valid, if loose, bound. time.Time.Sub
// measures on the monotonic clock when both times carry a reading and on
// the wall clock otherwise, so the bound keeps one minimum of each kind;
// together they answer "could now.Sub(at) >= ttl hold for some item"
// exactly as the per-item test does, even across wall-clock steps.
type deletedBound struct {
	any     bool      // an item was noted
	wall    time.Time // earliest wall time of any item (no monotonic reading)
	hasMono bool      // an item with a monotonic reading was noted
	mono    time.Time // earliest such item, on the monotonic clock
}

func (b *deletedBound) note(at time.Time) {
	wall := at.Round(0) // strips the monotonic reading
	if !b.any || wall.Before(b.wall) {
		b.wall = wall
	}
	b.any = true
	if at != wall && (!b.hasMono || at.Before(b.mono)) {
		b.mono, b.hasMono = at, true
	}
}

// mayExpire reports whether an item noted could be ttl old at now.
func (b deletedBound) mayExpire(now time.Time, ttl time.Duration) bool {
	return b.any && (now.Sub(b.wall) >= ttl || (b.hasMono && now.Sub(b.mono) >= ttl))
}

// deletedShown is what a deleted user shows: the default set plus
// deletedDateTime.
func (s *Server) deletedShown(selects []*propDef) []*propDef {
	if selects != nil {
		return selects
	}
	return append(append([]*propDef(nil), s.schema.defaults...), s.schema.byName["deletedDateTime"])
}

// listDeleted serves GET /directory/deletedItems/microsoft.graph.user with
// the query options of GET /users (Graph docs, "List deletedItems":
// $count, $filter, $orderby, $search, $select and $top are supported).
func (s *Server) listDeleted(c *call) *graphError {
	q, err := s.parseListQuery(c.r)
	if err != nil {
		return err
	}
	s.mu.Lock()
	var matches []*userRecord
	for _, d := range s.deleted {
		if matchFilter(q.filter, d.u) {
			matches = append(matches, d.u)
		}
	}
	sort.Slice(matches, func(i, j int) bool { return matches[i].seq < matches[j].seq })
	total := len(matches)
	if len(q.orderBy) > 0 {
		sortUsers(matches, q.orderBy)
	}
	page, next := paginate(matches, q)
	values := make([]map[string]any, len(page))
	for i, u := range page {
		values[i] = render(u, s.deletedShown(q.selects))
	}
	s.mu.Unlock()

	resp := map[string]any{"@odata.context": deletedUsersContext, "value": values}
	if q.count {
		resp["@odata.count"] = total
	}
	if next != nil {
		resp["@odata.nextLink"] = nextLink(c.r, next.encode(len(q.orderBy) > 0))
	}
	c.writeJSON(http.StatusOK, resp)
	return nil
}

// getDeleted serves GET /directory/deletedItems/{id}. Graph docs, "Get
// deleted item": 200 with the directoryObject, its @odata.type naming the
// derived type; 404 Request_ResourceNotFound for an id not in the bin.
func (s *Server) getDeleted(c *call, id string) *graphError {
	selects, err := s.itemSelect(c)
	if err != nil {
		return err
	}
	s.mu.Lock()
	d := s.deleted[strings.ToLower(id)]
	var out map[string]any
	if d != nil {
		out = render(d.u, s.deletedShown(selects))
	}
	s.mu.Unlock()
	if d == nil {
		return errResourceNotFound(id)
	}
	out["@odata.context"] = directoryObjContext
	out["@odata.type"] = "#microsoft.graph.user"
	c.writeJSON(http.StatusOK, out)
	return nil
}

// hardDelete serves DELETE /directory/deletedItems/{id}. Graph docs,
// "Permanently delete an item (directory object)": 204 No Content; the item
// can no longer be restored.
func (s *Server) hardDelete(c *call, id string) *graphError {
	s.mu.Lock()
	d := s.deleted[strings.ToLower(id)]
	if d != nil {
		s.removeForever(d)
	}
	s.mu.Unlock()
	if d == nil {
		return errResourceNotFound(id)
	}
	c.writeNoContent()
	return nil
}

// restoreBody is the optional body of restore. Graph docs, "Restore deleted
// item": autoReconcileProxyConflict ("remove any conflicting proxy
// addresses while restoring a soft-deleted user whose one or more proxy
// addresses are currently used for an active user"; default false) and
// newUserPrincipalName ("the new userPrincipalName to add to the restored
// user").
type restoreBody struct {
	AutoReconcileProxyConflict bool    `json:"autoReconcileProxyConflict"`
	NewUserPrincipalName       *string `json:"newUserPrincipalName"`
}

// restore serves POST /directory/deletedItems/{id}/restore: 200 with the
// restored object (Graph docs, "Restore deleted item"). A UPN or proxy
// address now used by an active user blocks the restore with the same
// ObjectConflict error a create gets (entra-powershell issue #1484: the
// restore of a user whose UPN is taken fails until newUserPrincipalName is
// given).
func (s *Server) restore(c *call, id string) *graphError {
	body, gerr := readBody(c.r)
	if gerr != nil {
		return gerr
	}
	var req restoreBody
	if trimmed := bytes.TrimSpace(body); len(trimmed) > 0 {
		if trimmed[0] != '{' || json.Unmarshal(trimmed, &req) != nil {
			return errUnreadablePayload()
		}
	}
	if req.NewUserPrincipalName != nil && !validUPN(*req.NewUserPrincipalName, s.domains) {
		return errInvalidUPN()
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.deleted[strings.ToLower(id)]
	if d == nil {
		return errResourceNotFound(id)
	}
	u := d.u
	upn := u.str("userPrincipalName")
	if req.NewUserPrincipalName != nil {
		upn = *req.NewUserPrincipalName
	}
	if other := s.users.byUPN[strings.ToLower(upn)]; other != nil {
		return errConflict("userPrincipalName", other.id)
	}
	if immutable := u.str("onPremisesImmutableId"); immutable != "" {
		if name, other := s.users.conflict(nil, map[string]any{"onPremisesImmutableId": immutable}); other != nil {
			return errConflict(name, other.id)
		}
	}
	kept, other := s.reconcileProxies(u)
	if other != nil && !req.AutoReconcileProxyConflict {
		return errConflict("proxyAddresses", other.id)
	}
	u.props["proxyAddresses"] = kept
	u.props["userPrincipalName"] = upn
	delete(u.props, "deletedDateTime")
	delete(s.deleted, strings.ToLower(u.id))
	delete(s.tombstones, strings.ToLower(u.id))
	s.users.add(u)
	s.touch(u)
	s.userMembershipsChanged(u, false)

	shown := append([]*propDef(nil), s.schema.defaults...)
	out := render(u, shown)
	out["@odata.context"] = directoryObjContext
	out["@odata.type"] = "#microsoft.graph.user"
	c.writeJSON(http.StatusOK, out)
	return nil
}

// reconcileProxies returns u's proxy addresses that no active user holds,
// and one active user that holds one of the others (compared in lower case,
// without "smtp:"). The caller holds s.mu.
func (s *Server) reconcileProxies(u *userRecord) ([]string, *userRecord) {
	var kept []string
	var clash *userRecord
	addrs, _ := u.props["proxyAddresses"].([]string)
	for _, a := range addrs {
		if other := s.users.proxyHolder(a); other != nil {
			clash = other
			continue
		}
		kept = append(kept, a)
	}
	if kept == nil {
		kept = []string{}
	}
	return kept, clash
}
