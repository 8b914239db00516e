// Package graph reads the tenant's B2B guests from Microsoft Graph as
// source entries, for the direction "guests to shadow accounts": one
// source.Entry per guest in scope, its DN the guest's object id and its
// attributes the Graph user properties as text (booleans "true"/"false", a
// collection as several values, a complex property one level deep as
// "parent.member").
//
// The scope is one of (Options.Scope):
//
//   - every guest of the tenant;
//   - the members of groups, nested groups included
//     (GET /groups/{id}/transitiveMembers/microsoft.graph.user, an advanced
//     query: ConsistencyLevel eventual and $count=true);
//   - the users and groups assigned to an enterprise application
//     (GET /servicePrincipals/{id}/appRoleAssignedTo), an assigned group
//     counting for its direct user members only: "When you assign a group
//     to an application, only users in the group have access. The
//     assignment doesn't cascade to nested groups." (Microsoft Entra docs,
//     "Manage users and groups assignment to an application"), and Graph's
//     appRoleAssignment resource: "If an app role is assigned to a group,
//     direct members of the group are also considered to have been
//     assigned the app role."
//
// Only users whose userType is Guest count, and only enabled ones are
// delivered: a disabled guest, a deleted one, one turned member and one
// that left the scope are absences, which incremental reads report as
// Entry{Deleted: true} so that the engine applies its removal rails.
//
// Reads go through the shared Graph client (pkg/target/graph), which owns
// authentication, retries, paging and $batch. Incremental reads follow
// users/delta for the users and groups/delta (members@delta) for the
// membership of the groups that decide the scope (incremental.go).
//
// Permissions (application, least privileged; Graph docs, the
// "Permissions" table of each API):
//
//   - every guest: User.Read.All (users/delta);
//   - groups: User.Read.All and GroupMember.Read.All (transitiveMembers,
//     groups/delta);
//   - application: User.Read.All, GroupMember.Read.All (the assigned
//     groups' members, groups/delta) and Application.Read.All
//     (appRoleAssignedTo).
//
// A 403 names the permissions the refused request needed, and Check probes
// them all before a run.
package graph

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/guestsync/guestsync/pkg/source"
	graphclient "github.com/guestsync/guestsync/pkg/target/graph"
)

// Scope kinds.
const (
	// ScopeAll is every guest of the tenant.
	ScopeAll = "all"
	// ScopeGroups is the guests among the members of Options.Groups,
	// nested groups included.
	ScopeGroups = "groups"
	// ScopeApplication is the guests assigned to the enterprise
	// application whose service principal is Options.ServicePrincipal,
	// directly or as direct members of an assigned group.
	ScopeApplication = "application"
)

// DefaultProperties are the user properties every read selects (Graph
// returns several of them only when they are selected). id, userType and
// accountEnabled are always read: the reader needs them.
var DefaultProperties = []string{
	"accountEnabled", "city", "companyName", "country", "creationType", "department",
	"displayName", "employeeId", "employeeType", "externalUserState", "givenName", "id",
	"jobTitle", "mail", "mailNickname", "mobilePhone", "officeLocation", "preferredLanguage",
	"surname", "usageLocation", "userPrincipalName", "userType",
}

// Options say which guests are read. They are plain data: the conversion
// from guestsync's configuration lives with the configuration.
type Options struct {
	// Scope is ScopeAll (the default when empty), ScopeGroups or
	// ScopeApplication.
	Scope string
	// Groups are the object ids of the scoping groups, for ScopeGroups.
	Groups []string
	// ServicePrincipal is the object id of the enterprise application's
	// service principal (not its appId), for ScopeApplication.
	ServicePrincipal string
	// Properties are user properties to read besides DefaultProperties
	// (those a mapping uses).
	Properties []string
}

// Reader reads the guests in scope. It implements source.ChangeReader.
type Reader struct {
	client *graphclient.Client
	opts   Options
	props  []string // sorted, without duplicates
	log    *slog.Logger
}

var _ source.ChangeReader = (*Reader)(nil)

// New checks opts and returns a Reader that reads through client. Every
// problem in opts is reported at once. A nil log discards messages.
func New(client *graphclient.Client, opts Options, log *slog.Logger) (*Reader, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opts.Scope == "" {
		opts.Scope = ScopeAll
	}
	var problems []error
	bad := func(format string, args ...any) { problems = append(problems, fmt.Errorf(format, args...)) }
	switch opts.Scope {
	case ScopeAll:
		if len(opts.Groups) > 0 || opts.ServicePrincipal != "" {
			bad("scope all reads every guest: groups and servicePrincipal must be empty")
		}
	case ScopeGroups:
		if len(opts.Groups) == 0 {
			bad("scope groups needs at least one group id")
		}
		for i, g := range opts.Groups {
			if !isObjectID(g) {
				bad("groups[%d]: %q is not an object id (a GUID such as 0c0c1f4b-8c55-4a1e-9a3c-1d2e3f405162)", i, g)
			}
		}
		if opts.ServicePrincipal != "" {
			bad("scope groups: servicePrincipal must be empty")
		}
	case ScopeApplication:
		if !isObjectID(opts.ServicePrincipal) {
			bad("scope application needs the object id of the application's service principal (a GUID), not %q", opts.ServicePrincipal)
		}
		if len(opts.Groups) > 0 {
			bad("scope application: groups must be empty (the groups assigned to the application are read from it)")
		}
	default:
		bad("scope must be %s, %s or %s, not %q", ScopeAll, ScopeGroups, ScopeApplication, opts.Scope)
	}
	props := append(slices.Clone(DefaultProperties), opts.Properties...)
	for i, p := range opts.Properties {
		if p == "" || strings.ContainsAny(p, ",/?&#=$ ") {
			bad("properties[%d]: %q is not a Graph user property name", i, p)
		}
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("graph source: %w", errors.Join(problems...))
	}
	slices.Sort(props)
	opts.Groups = normalizedIDs(opts.Groups)
	opts.ServicePrincipal = strings.ToLower(opts.ServicePrincipal)
	return &Reader{client: client, opts: opts, props: slices.Compact(props), log: log}, nil
}

// Key identifies what is read: "graph-guests:<root>:<16 hex digits>", the
// digits from a SHA-256 of the scope (kind, groups in any order, service
// principal) and the properties read. A watermark is only used again under
// the same key, so a changed scope starts from a full read. The tenant is
// not in it (one root serves every tenant of a cloud): a delta link of
// another tenant is refused by Graph, and ReadChanges then reads fully.
func (r *Reader) Key() string {
	canon := struct {
		Scope            string   `json:"scope"`
		Groups           []string `json:"groups,omitempty"`
		ServicePrincipal string   `json:"sp,omitempty"`
		Properties       []string `json:"props"`
	}{r.opts.Scope, r.opts.Groups, r.opts.ServicePrincipal, r.props}
	b, err := json.Marshal(canon)
	if err != nil {
		panic(err) // strings only: always marshals
	}
	sum := sha256.Sum256(b)
	return "graph-guests:" + strings.ToLower(r.client.Root()) + ":" + hex.EncodeToString(sum[:8])
}

// isObjectID reports whether s is a directory object id: a GUID in its
// 8-4-4-4-12 form. Ids go into URL paths and $filter expressions, so
// nothing else is let through.
func isObjectID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, c := range s {
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !strings.ContainsRune("0123456789abcdefABCDEF", c) {
				return false
			}
		}
	}
	return true
}

// normalizedIDs returns ids in lower case, sorted, without duplicates.
func normalizedIDs(ids []string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = strings.ToLower(id)
	}
	slices.Sort(out)
	return slices.Compact(out)
}
