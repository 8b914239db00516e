package graphsim

import (
	"slices"
	"strings"
	"time"
)

// The directory objects other than users: groups with their members,
// applications, and service principals with the app role assignments
// granted for them. They live under the Server's mutex like the users.
// A tenant holds few of them next to its users (tens of groups, a few
// applications), so lookups by id use maps and everything else scans.

// dirObject is a stored group, application or service principal. props
// holds the stored values by JSON name, as userRecord.props does.
type dirObject struct {
	seq     uint64 // creation order, the order of list results
	id      string
	props   map[string]any
	changed uint64 // change number of the last create, update or membership change (groups/delta)
}

func (o *dirObject) str(name string) string {
	s, _ := o.props[name].(string)
	return s
}

// value returns what Graph shows for p: null when unset, an empty array
// for an unset collection.
func (o *dirObject) value(p *propDef) any {
	if p.name == "id" {
		return o.id
	}
	v := o.props[p.name]
	if v == nil {
		switch p.kind {
		case kindStrings:
			return []string{}
		case kindObjects:
			return []any{}
		}
	}
	return v
}

func (o *dirObject) render(props []*propDef) map[string]any {
	out := make(map[string]any, len(props)+1)
	for _, p := range props {
		out[p.name] = o.value(p)
	}
	return out
}

// groupRecord is a group and its direct members.
type groupRecord struct {
	dirObject
	// members holds every object that is or was a direct member, by
	// lower-cased id: groups/delta reports the ones whose mark changed
	// after a round's start (added if still a member, removed if not).
	members map[string]*memberMark
}

// memberMark is one direct membership of a group.
type memberMark struct {
	id      string
	kind    string // "user" or "group": the member's type
	present bool   // a member now (a soft-deleted user stays marked present; see effective)
	seq     uint64 // change number of the last change of this membership (groups/delta)
	order   uint64 // when it was last added: the order of the member lists
	// indexedAt is when the advanced-query index sees the last change
	// (Faults.Lag); before, it still shows was, the presence before the
	// change. Zero without lag, and after a restart (the index caught up).
	indexedAt time.Time
	was       bool
}

// unified reports a Microsoft 365 group (groupTypes contains "Unified").
func (g *groupRecord) unified() bool {
	types, _ := g.props["groupTypes"].([]string)
	return slices.ContainsFunc(types, func(t string) bool { return strings.EqualFold(t, "Unified") })
}

// servicePrincipal is a service principal and the app role assignments
// granted for it as the resource (appRoleAssignedTo).
type servicePrincipal struct {
	dirObject
	assigned []*roleAssignment // in creation order
}

// roleAssignment is an appRoleAssignment. Its props are the resource's
// JSON (appRoleId, principalId, principalType, ...); id is Graph's opaque
// assignment id.
type roleAssignment struct {
	id    string
	seq   uint64 // creation order
	props map[string]any
}

// directory holds the groups, applications and service principals, keyed
// by lower-cased id.
type directory struct {
	groups     map[string]*groupRecord
	apps       map[string]*dirObject
	sps        map[string]*servicePrincipal
	nextSeq    uint64
	groupTombs map[string]tombstone // removed groups, for groups/delta
}

func newDirectory() *directory {
	return &directory{groups: map[string]*groupRecord{}, apps: map[string]*dirObject{},
		sps: map[string]*servicePrincipal{}, groupTombs: map[string]tombstone{}}
}

// nextCreation numbers a new object in creation order.
func (d *directory) nextCreation() uint64 {
	d.nextSeq++
	return d.nextSeq
}

// orderedGroups returns the groups in creation order.
func (d *directory) orderedGroups() []*groupRecord {
	out := make([]*groupRecord, 0, len(d.groups))
	for _, g := range d.groups {
		out = append(out, g)
	}
	slices.SortFunc(out, func(a, b *groupRecord) int { return cmpSeq(a.seq, b.seq) })
	return out
}

func cmpSeq(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// spByAppID finds the service principal of an application (appId compared
// case-insensitively, as GUIDs are).
func (d *directory) spByAppID(appID string) *servicePrincipal {
	for _, sp := range d.sps {
		if strings.EqualFold(sp.str("appId"), appID) {
			return sp
		}
	}
	return nil
}

// appByAppID finds an application by its appId.
func (d *directory) appByAppID(appID string) *dirObject {
	for _, a := range d.apps {
		if strings.EqualFold(a.str("appId"), appID) {
			return a
		}
	}
	return nil
}

// groupSchema is the part of microsoft.graph.group the emulator keeps.
// Graph docs, "group resource type": displayName, mailEnabled,
// mailNickname and securityEnabled are required on create; mailNickname
// has at most 64 characters; Graph docs, "List groups", returns these
// properties by default (among more the emulator does not keep). $filter
// and $orderby support: Graph docs, "Advanced query capabilities on
// Microsoft Entra ID objects", group rows of the $filter and $orderby
// tables (displayName, mail, mailNickname: eq and startsWith by default;
// mailEnabled, securityEnabled: eq by default; description: startsWith by
// default, eq only in advanced queries; $orderby displayName by default).
func groupSchema() *schema {
	return newSchema("group", "Group", []*propDef{
		{name: "id", kind: kindString, selected: true, readOnly: true, eq: byDefault},
		{name: "createdDateTime", kind: kindDateTime, selected: true, readOnly: true},
		{name: "deletedDateTime", kind: kindDateTime, selected: true, readOnly: true},
		{name: "description", kind: kindString, selected: true, eq: advancedOnly, startsWith: byDefault},
		{name: "displayName", kind: kindString, maxLen: 256, selected: true, eq: byDefault, startsWith: byDefault, orderBy: byDefault},
		{name: "groupTypes", kind: kindStrings, selected: true},
		{name: "isAssignableToRole", kind: kindBool, selected: true},
		{name: "mail", kind: kindString, selected: true, readOnly: true, eq: byDefault, startsWith: byDefault},
		{name: "mailEnabled", kind: kindBool, selected: true, eq: byDefault},
		{name: "mailNickname", kind: kindString, maxLen: 64, selected: true, eq: byDefault, startsWith: byDefault},
		{name: "proxyAddresses", kind: kindStrings, selected: true, readOnly: true},
		{name: "securityEnabled", kind: kindBool, selected: true, eq: byDefault},
		{name: "visibility", kind: kindString, selected: true},
	})
}

// applicationSchema is the part of microsoft.graph.application the
// emulator keeps (Graph docs, "application resource type"; $filter on
// appId, displayName and id by default per "Advanced query capabilities").
func applicationSchema() *schema {
	return newSchema("application", "Application", []*propDef{
		{name: "id", kind: kindString, selected: true, readOnly: true, eq: byDefault},
		{name: "appId", kind: kindString, selected: true, readOnly: true, eq: byDefault},
		{name: "appRoles", kind: kindObjects, selected: true},
		{name: "createdDateTime", kind: kindDateTime, selected: true, readOnly: true},
		{name: "deletedDateTime", kind: kindDateTime, selected: true, readOnly: true},
		{name: "description", kind: kindString, selected: true},
		{name: "displayName", kind: kindString, maxLen: 256, selected: true, eq: byDefault, startsWith: byDefault},
		{name: "identifierUris", kind: kindStrings, selected: true},
		{name: "signInAudience", kind: kindString, selected: true},
		{name: "tags", kind: kindStrings, selected: true},
	})
}

// servicePrincipalSchema is the part of microsoft.graph.servicePrincipal
// the emulator keeps (Graph docs, "servicePrincipal resource type"; $filter
// on appId, displayName, accountEnabled, servicePrincipalType and id by
// default per "Advanced query capabilities").
func servicePrincipalSchema() *schema {
	return newSchema("servicePrincipal", "ServicePrincipal", []*propDef{
		{name: "id", kind: kindString, selected: true, readOnly: true, eq: byDefault},
		{name: "accountEnabled", kind: kindBool, selected: true, eq: byDefault},
		{name: "appDisplayName", kind: kindString, selected: true, readOnly: true},
		{name: "appId", kind: kindString, selected: true, eq: byDefault},
		{name: "appOwnerOrganizationId", kind: kindString, selected: true, readOnly: true},
		{name: "appRoleAssignmentRequired", kind: kindBool, selected: true},
		{name: "appRoles", kind: kindObjects, selected: true, readOnly: true},
		{name: "deletedDateTime", kind: kindDateTime, selected: true, readOnly: true},
		{name: "description", kind: kindString, selected: true},
		{name: "displayName", kind: kindString, maxLen: 256, selected: true, eq: byDefault, startsWith: byDefault},
		{name: "servicePrincipalNames", kind: kindStrings, selected: true, readOnly: true},
		{name: "servicePrincipalType", kind: kindString, selected: true, readOnly: true, eq: byDefault},
		{name: "tags", kind: kindStrings, selected: true},
	})
}

// appRoleAssignmentSchema is microsoft.graph.appRoleAssignment (Graph docs,
// "appRoleAssignment resource type": principalDisplayName "Supports
// $filter (eq and startswith)", resourceId "Supports $filter (eq only)").
func appRoleAssignmentSchema() *schema {
	return newSchema("appRoleAssignment", "AppRoleAssignment", []*propDef{
		{name: "id", kind: kindString, selected: true, readOnly: true},
		{name: "appRoleId", kind: kindString, selected: true},
		{name: "createdDateTime", kind: kindDateTime, selected: true, readOnly: true},
		{name: "deletedDateTime", kind: kindDateTime, selected: true, readOnly: true},
		{name: "principalDisplayName", kind: kindString, selected: true, readOnly: true, eq: byDefault, startsWith: byDefault},
		{name: "principalId", kind: kindString, selected: true},
		{name: "principalType", kind: kindString, selected: true, readOnly: true},
		{name: "resourceDisplayName", kind: kindString, selected: true, readOnly: true},
		{name: "resourceId", kind: kindString, selected: true, eq: byDefault},
	})
}

// schemas are the entity types the Server knows, built per Server so that
// the package holds no mutable state.
type schemas struct {
	group, application, servicePrincipal, assignment *schema
}

func newSchemas() schemas {
	return schemas{group: groupSchema(), application: applicationSchema(),
		servicePrincipal: servicePrincipalSchema(), assignment: appRoleAssignmentSchema()}
}
