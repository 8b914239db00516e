package graph

import (
	"context"
	"errors"

	graphclient "github.com/guestsync/guestsync/pkg/target/graph"
)

// Check makes one small request for each permission the scope needs (see
// the package comment) and for each object the scope names, and returns
// every problem found, joined: a permission Graph refuses (named), a
// scoping group or service principal that does not exist. It reads no
// guest, for checks before a run (a plan, guestsync doctor).
func (r *Reader) Check(ctx context.Context) error {
	type probe struct {
		what, link string
		opts       graphclient.PageOptions
		permission []string
		kind, id   string // the object the probe reads, for a 404
	}
	root := r.client.Root()
	probes := []probe{{what: "list users", link: root + "/users?$select=id&$top=1", permission: []string{permUsers}}}
	switch r.opts.Scope {
	case ScopeGroups:
		for _, g := range r.opts.Groups {
			probes = append(probes, probe{what: "list the users in group " + g,
				link: root + "/groups/" + g + "/transitiveMembers/microsoft.graph.user?$select=id&$top=1&$count=true",
				opts: advanced, permission: []string{permGroupMembers}, kind: "group", id: g})
		}
	case ScopeApplication:
		sp := r.opts.ServicePrincipal
		probes = append(probes, probe{what: "list the assignments of service principal " + sp,
			link:       root + "/servicePrincipals/" + sp + "/appRoleAssignedTo?$select=principalId&$top=1",
			permission: []string{permApplication}, kind: "service principal", id: sp})
		// GroupMember.Read.All is needed as soon as a group is assigned;
		// it is checked on the first one.
		st, err := r.discover(ctx)
		if err == nil && len(st.groups) > 0 {
			g := st.groups[0]
			probes = append(probes, probe{what: "list the users in group " + g + " (assigned to service principal " + sp + ")",
				link: root + "/groups/" + g + "/members/microsoft.graph.user?$select=id&$top=1&$count=true",
				opts: advanced, permission: []string{permGroupMembers}, kind: "group", id: g})
		}
	}
	var problems []error
	for _, p := range probes {
		if _, err := r.client.GetPage(ctx, p.link, p.opts); err != nil {
			err = pageError(err, p.what, 1, p.permission)
			if p.kind != "" {
				err = notFound(err, p.kind, p.id)
			}
			problems = append(problems, err)
		}
	}
	return errors.Join(problems...)
}
