package graphsim

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

const (
	applicationsContext      = graphMetadata + "#applications"
	servicePrincipalsContext = graphMetadata + "#servicePrincipals"
	// defaultAppRoleID: Graph docs, "appRoleAssignment resource type",
	// appRoleId: "If the resource application hasn't declared any app
	// roles, a default app role ID of 00000000-0000-0000-0000-000000000000
	// can be specified to signal that the principal is assigned to the
	// resource app without any specific app roles."
	defaultAppRoleID = "00000000-0000-0000-0000-000000000000"
)

// appIDKey recognises the alternate key of a service principal in a path,
// servicePrincipals(appId='{appId}') (Graph docs, "Get servicePrincipal"
// and "Grant an appRoleAssignment for a service principal": "You can
// address the service principal using either its id or appId"), and
// returns the appId.
func appIDKey(seg string) (string, bool) {
	l := strings.ToLower(seg)
	const prefix = "serviceprincipals(appid="
	if !strings.HasPrefix(l, prefix) || !strings.HasSuffix(l, ")") {
		return "", false
	}
	return strings.Trim(seg[len(prefix):len(seg)-1], "'"), true
}

// routeApplications serves /applications and below: create, list, get.
func (s *Server) routeApplications(c *call, rest []string) *graphError {
	method := c.r.Method
	switch {
	case len(rest) == 0 && method == http.MethodPost:
		return s.createApplication(c)
	case len(rest) == 0 && method == http.MethodGet:
		return s.listObjects(c, s.types.application, applicationsContext, s.appItems())
	case len(rest) == 0:
		return errMethodNotAllowed()
	case len(rest) == 1 && method == http.MethodGet:
		return s.getObject(c, s.types.application, applicationsContext, func() *dirObject {
			return s.dir.apps[strings.ToLower(rest[0])]
		}, rest[0])
	case len(rest) == 1:
		return errNotEmulated(method + " /applications/{id}")
	}
	return errNotEmulated("/applications/{id}/" + rest[1])
}

// routeServicePrincipals serves /servicePrincipals and below; rest[0] may
// be the appId key form (appIDKey).
func (s *Server) routeServicePrincipals(c *call, rest []string) *graphError {
	method := c.r.Method
	switch {
	case len(rest) == 0 && method == http.MethodPost:
		return s.createServicePrincipal(c)
	case len(rest) == 0 && method == http.MethodGet:
		return s.listObjects(c, s.types.servicePrincipal, servicePrincipalsContext, s.spItems())
	case len(rest) == 0:
		return errMethodNotAllowed()
	case len(rest) == 1 && method == http.MethodGet:
		return s.getObject(c, s.types.servicePrincipal, servicePrincipalsContext, func() *dirObject {
			if sp := s.lookupSP(rest[0]); sp != nil {
				return &sp.dirObject
			}
			return nil
		}, rest[0])
	case len(rest) == 1:
		return errNotEmulated(method + " /servicePrincipals/{id}")
	}
	if !strings.EqualFold(rest[1], "appRoleAssignedTo") {
		return errNotEmulated("/servicePrincipals/{id}/" + rest[1])
	}
	switch {
	case len(rest) == 2 && method == http.MethodGet:
		return s.listAssignedTo(c, rest[0])
	case len(rest) == 2 && method == http.MethodPost:
		return s.assignAppRole(c, rest[0])
	case len(rest) == 3 && method == http.MethodDelete:
		return s.unassignAppRole(c, rest[0], rest[2])
	case len(rest) == 3 && method == http.MethodGet:
		return errNotEmulated("GET /servicePrincipals/{id}/appRoleAssignedTo/{id}")
	}
	return errMethodNotAllowed()
}

// lookupSP finds a service principal by id or by "(appId='...')". The
// caller holds s.mu.
func (s *Server) lookupSP(key string) *servicePrincipal {
	if appID, ok := strings.CutPrefix(key, "appId="); ok {
		return s.dir.spByAppID(appID)
	}
	return s.dir.sps[strings.ToLower(key)]
}

// createApplication serves POST /applications. Graph docs, "Create
// application": displayName is required; 201 Created with the
// application, which gets its id and appId ("The unique identifier for the
// application that is assigned to an application by Microsoft Entra ID").
// Each of appRoles needs an id (a GUID), as the appRole resource says
// ("Unique role identifier inside the appRoles collection").
func (s *Server) createApplication(c *call) *graphError {
	body, err := readBody(c.r)
	if err != nil {
		return err
	}
	sc := s.types.application
	props, err := sc.decodeObject(body)
	if err != nil {
		return err
	}
	if v := props["displayName"]; v == nil || v == "" {
		return errRequired("displayName")
	}
	roles, _ := props["appRoles"].([]any)
	for _, r := range roles {
		id, _ := r.(map[string]any)["id"].(string)
		if !isGUID(id) {
			return errInvalidValueOf(sc, "appRoles")
		}
	}
	props["appId"] = newGUID()
	props["createdDateTime"] = c.now.UTC().Format(time.RFC3339)
	if props["signInAudience"] == nil {
		props["signInAudience"] = "AzureADMyOrg"
	}
	app := &dirObject{id: newGUID(), props: props}
	s.mu.Lock()
	app.seq = s.dir.nextCreation()
	s.dir.apps[strings.ToLower(app.id)] = app
	s.touchObject(app)
	out := app.render(sc.defaults)
	s.mu.Unlock()
	out["@odata.context"] = applicationsContext + "/$entity"
	c.writeJSON(http.StatusCreated, out)
	return nil
}

// createServicePrincipal serves POST /servicePrincipals. Graph docs,
// "Create servicePrincipal": appId is required; 201 Created. An appId no
// application of the tenant has is 400 Request_BadRequest "The appId '...'
// of the service principal does not reference a valid application
// object." with detail NoBackingApplicationObject (the answer Graph clients
// retry on, e.g. azure-cli's role module); a second service principal for
// the same application is 409 Request_MultipleObjectsWithSameKeyValue
// "The service principal cannot be created, updated, or restored because
// the service principal name ... is already in use." (Microsoft Intune
// docs quote it for New-MgServicePrincipal). The service principal takes
// the application's displayName and appRoles.
func (s *Server) createServicePrincipal(c *call) *graphError {
	body, err := readBody(c.r)
	if err != nil {
		return err
	}
	sc := s.types.servicePrincipal
	props, err := sc.decodeObject(body)
	if err != nil {
		return err
	}
	appID, _ := props["appId"].(string)
	if appID == "" {
		return errRequired("appId")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	app := s.dir.appByAppID(appID)
	if app == nil {
		msg := fmt.Sprintf("The appId '%s' of the service principal does not reference a valid application object.", appID)
		return newError(http.StatusBadRequest, codeRequestBadRequest, msg,
			errorDetail{Code: "NoBackingApplicationObject", Message: msg, Target: "appId"})
	}
	if s.dir.spByAppID(appID) != nil {
		msg := fmt.Sprintf("The service principal cannot be created, updated, or restored because the service principal name %s is already in use.", appID)
		return newError(http.StatusConflict, "Request_MultipleObjectsWithSameKeyValue", msg,
			errorDetail{Code: codeObjectConflict, Message: msg, Target: "servicePrincipalNames"})
	}
	appID = app.str("appId")
	props["appId"] = appID
	if props["accountEnabled"] == nil {
		props["accountEnabled"] = true
	}
	if props["displayName"] == nil {
		props["displayName"] = app.props["displayName"]
	}
	if props["appRoleAssignmentRequired"] == nil {
		props["appRoleAssignmentRequired"] = false
	}
	props["appDisplayName"] = app.props["displayName"]
	if roles := app.props["appRoles"]; roles != nil {
		props["appRoles"] = roles
	}
	props["appOwnerOrganizationId"] = s.opts.TenantID
	props["servicePrincipalNames"] = []string{appID}
	props["servicePrincipalType"] = "Application"
	sp := &servicePrincipal{dirObject: dirObject{id: newGUID(), props: props}}
	sp.seq = s.dir.nextCreation()
	s.dir.sps[strings.ToLower(sp.id)] = sp
	s.touchObject(&sp.dirObject)
	out := sp.render(sc.defaults)
	out["@odata.context"] = servicePrincipalsContext + "/$entity"
	c.writeJSON(http.StatusCreated, out)
	return nil
}

func (s *Server) appItems() func() []listed {
	return func() []listed {
		var items []listed
		for _, a := range s.dir.apps {
			items = append(items, listed{seq: a.seq, value: a.value, render: a.render})
		}
		slices.SortFunc(items, func(a, b listed) int { return cmpSeq(a.seq, b.seq) })
		return items
	}
}

func (s *Server) spItems() func() []listed {
	return func() []listed {
		var items []listed
		for _, sp := range s.dir.sps {
			items = append(items, listed{seq: sp.seq, value: sp.value, render: sp.render})
		}
		slices.SortFunc(items, func(a, b listed) int { return cmpSeq(a.seq, b.seq) })
		return items
	}
}

// listObjects serves a GET of /applications or /servicePrincipals (Graph
// docs, "List applications", "List servicePrincipals"): the query options
// and paging of GET /users against sc, e.g. $filter=appId eq '...'.
// items runs under s.mu.
func (s *Server) listObjects(c *call, sc *schema, context string, items func() []listed) *graphError {
	q, err := sc.parseListQuery(c.r)
	if err != nil {
		return err
	}
	s.mu.Lock()
	resp := collectionPage(c, q, sc, items())
	s.mu.Unlock()
	resp["@odata.context"] = projectionContext(context, q.selects)
	c.writeJSON(http.StatusOK, resp)
	return nil
}

// getObject serves a GET of one application or service principal; find
// runs under s.mu.
func (s *Server) getObject(c *call, sc *schema, context string, find func() *dirObject, key string) *graphError {
	opts, err := queryOptions(c.r.URL, "$select", "$expand", "$format")
	if err != nil {
		return err
	}
	if _, ok := opts["$expand"]; ok {
		return errNotEmulated("$expand")
	}
	selects, err := sc.parseSelect(opts["$select"])
	if err != nil {
		return err
	}
	s.mu.Lock()
	o := find()
	var out map[string]any
	if o != nil {
		out = o.render(orDefaults(selects, sc))
	}
	s.mu.Unlock()
	if o == nil {
		return errResourceNotFound(key)
	}
	out["@odata.context"] = projectionContext(context, selects) + "/$entity"
	c.writeJSON(http.StatusOK, out)
	return nil
}

// assignAppRole serves POST /servicePrincipals/{id}/appRoleAssignedTo.
// Graph docs, "Grant an appRoleAssignment for a service principal": the
// body gives principalId (a user, group or client service principal),
// resourceId (this service principal) and appRoleId; 201 Created with the
// appRoleAssignment, principalType User, Group or ServicePrincipal. The
// app role must be one the resource declares, or the default id when it
// declares none (defaultAppRoleID); else 400 Request_BadRequest
// "Permission being assigned was not found on application ..." (the
// start of Graph's message, which scripts match). Assigning the same role
// to the same principal twice is 400 Request_BadRequest "Permission being
// assigned already exists on the object" (the text Graph clients match,
// e.g. Azure's PowerShell samples). An unknown principal is 404.
func (s *Server) assignAppRole(c *call, spKey string) *graphError {
	body, err := readBody(c.r)
	if err != nil {
		return err
	}
	props, err := s.types.assignment.decodeObject(body)
	if err != nil {
		return err
	}
	for _, name := range []string{"principalId", "resourceId", "appRoleId"} {
		if v, _ := props[name].(string); v == "" {
			return errRequired(name)
		}
	}
	principalID, resourceID := props["principalId"].(string), props["resourceId"].(string)
	roleID := strings.ToLower(props["appRoleId"].(string))

	s.mu.Lock()
	defer s.mu.Unlock()
	sp := s.lookupSP(spKey)
	if sp == nil {
		return errResourceNotFound(spKey)
	}
	if !strings.EqualFold(resourceID, sp.id) {
		return newError(http.StatusBadRequest, codeRequestBadRequest, fmt.Sprintf(
			"resourceId '%s' is not the service principal %s the request is addressed to.", resourceID, sp.id))
	}
	principalType, principalName, ok := s.principal(principalID, c.now)
	if !ok {
		return errResourceNotFound(principalID)
	}
	if !declaresRole(sp, roleID) {
		return newError(http.StatusBadRequest, codeRequestBadRequest,
			fmt.Sprintf("Permission being assigned was not found on application '%s'.", sp.str("appId")))
	}
	for _, a := range sp.assigned {
		if strings.EqualFold(a.props["principalId"].(string), principalID) && a.props["appRoleId"] == roleID {
			return newError(http.StatusBadRequest, codeRequestBadRequest, "Permission being assigned already exists on the object")
		}
	}
	a := &roleAssignment{id: assignmentID(principalID), seq: s.dir.nextCreation(), props: map[string]any{
		"appRoleId": roleID, "createdDateTime": c.now.UTC().Format(time.RFC3339Nano), "deletedDateTime": nil,
		"principalDisplayName": principalName, "principalId": strings.ToLower(principalID),
		"principalType": principalType, "resourceDisplayName": sp.props["displayName"], "resourceId": sp.id,
	}}
	sp.assigned = append(sp.assigned, a)
	s.touchObject(&sp.dirObject)
	out := a.render(s.types.assignment.defaults)
	out["@odata.context"] = fmt.Sprintf("%s#servicePrincipals('%s')/appRoleAssignedTo/$entity", graphMetadata, sp.id)
	c.writeJSON(http.StatusCreated, out)
	return nil
}

// declaresRole reports whether roleID may be assigned on sp: one of its
// enabled app roles, or the default id when it declares none.
func declaresRole(sp *servicePrincipal, roleID string) bool {
	roles, _ := sp.props["appRoles"].([]any)
	if roleID == defaultAppRoleID {
		return len(roles) == 0
	}
	for _, r := range roles {
		m, _ := r.(map[string]any)
		id, _ := m["id"].(string)
		if strings.EqualFold(id, roleID) && m["isEnabled"] != false {
			return true
		}
	}
	return false
}

// principal resolves an assignment's principal: an active user visible
// at now, a group or a service principal, with its principalType and
// displayName. The caller holds s.mu.
func (s *Server) principal(id string, now time.Time) (kind, name string, ok bool) {
	key := strings.ToLower(id)
	if u := s.users.byID[key]; u != nil && u.visible(now) {
		return "User", u.str("displayName"), true
	}
	if g := s.dir.groups[key]; g != nil {
		return "Group", g.str("displayName"), true
	}
	if sp := s.dir.sps[key]; sp != nil {
		return "ServicePrincipal", sp.str("displayName"), true
	}
	return "", "", false
}

// assignmentID makes an appRoleAssignment id the way Graph's look: 32
// bytes in unpadded base64url, the first 16 the principal's id in GUID byte
// order (Graph docs' example "-WmtM5na7Uus0D8kI1yylpU9Mdo0Pb9OoBJvd3T5eKc"
// for principal 33ad69f9-da99-4bed-acd0-3f24235cb296), the rest random.
func assignmentID(principalID string) string {
	var b [32]byte
	// principalID is a GUID (checked by the caller's lookup), so it decodes.
	raw, _ := hex.DecodeString(strings.ReplaceAll(principalID, "-", ""))
	// GUID byte order: the first three groups little-endian.
	order := []int{3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15}
	for i, j := range order {
		if j < len(raw) {
			b[i] = raw[j]
		}
	}
	_, _ = rand.Read(b[16:]) // crypto/rand.Read never fails (Go 1.24+).
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func (a *roleAssignment) value(p *propDef) any {
	if p.name == "id" {
		return a.id
	}
	return a.props[p.name]
}

func (a *roleAssignment) render(props []*propDef) map[string]any {
	out := make(map[string]any, len(props))
	for _, p := range props {
		out[p.name] = a.value(p)
	}
	return out
}

// listAssignedTo serves GET /servicePrincipals/{id}/appRoleAssignedTo
// (Graph docs, "List appRoleAssignments granted for a service principal"):
// the assignments in creation order, with $select, $top and paging. An
// assignment whose principal no longer exists (a deleted user or group) is
// not listed.
func (s *Server) listAssignedTo(c *call, spKey string) *graphError {
	sc := s.types.assignment
	q, err := sc.parseListQuery(c.r)
	if err != nil {
		return err
	}
	s.mu.Lock()
	sp := s.lookupSP(spKey)
	if sp == nil {
		s.mu.Unlock()
		return errResourceNotFound(spKey)
	}
	var items []listed
	for _, a := range sp.assigned {
		if _, _, ok := s.principal(a.props["principalId"].(string), c.now); ok {
			items = append(items, listed{seq: a.seq, value: a.value, render: a.render})
		}
	}
	resp := collectionPage(c, q, sc, items)
	id := sp.id
	s.mu.Unlock()
	resp["@odata.context"] = projectionContext(fmt.Sprintf("%s#servicePrincipals('%s')/appRoleAssignedTo", graphMetadata, id), q.selects)
	c.writeJSON(http.StatusOK, resp)
	return nil
}

// unassignAppRole serves DELETE
// /servicePrincipals/{id}/appRoleAssignedTo/{appRoleAssignment-id} (Graph
// docs, "Delete appRoleAssignedTo"): 204 No Content; an unknown assignment
// is 404.
func (s *Server) unassignAppRole(c *call, spKey, id string) *graphError {
	s.mu.Lock()
	defer s.mu.Unlock()
	sp := s.lookupSP(spKey)
	if sp == nil {
		return errResourceNotFound(spKey)
	}
	i := slices.IndexFunc(sp.assigned, func(a *roleAssignment) bool { return a.id == id })
	if i < 0 {
		return errResourceNotFound(id)
	}
	sp.assigned = slices.Delete(sp.assigned, i, i+1)
	s.touchObject(&sp.dirObject)
	c.writeNoContent()
	return nil
}
