package graph

import "github.com/guestsync/guestsync/pkg/plan"

// Describe says what the client's accounts are: Entra ID guest users,
// anchored by onPremisesImmutableId, named by their userPrincipalName
// (their mail when they are invited: Graph makes the UPN), disabled by
// accountEnabled false. No two users may share a userPrincipalName or a
// mailNickname (Graph docs, "user resource type": both are unique within
// the tenant, compared without case).
func (c *Client) Describe() plan.Target {
	t := plan.Target{Kind: "graph", Noun: "guest", Anchor: "onPremisesImmutableId", Name: "userPrincipalName",
		Create: "create", Unique: []string{"userPrincipalName", "mailNickname"}, Enabled: "accountEnabled"}
	if c.opts.Invite {
		t.Name, t.Create = "mail", "invite"
	}
	return t
}

// AdoptProperty is the user property that graph.adopt's setting soft-
// matches on ("mail" or "upn"), for plan.Policy; "" for none.
func AdoptProperty(setting string) string {
	return map[string]string{"mail": "mail", "upn": "userPrincipalName"}[setting]
}
