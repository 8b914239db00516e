package graphsim_test

import (
	"encoding/json"
	"net/http"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/guestsync/guestsync/pkg/graphsim"
)

// stateToken matches a delta state token, signed with the instance's
// random key.
var stateToken = regexp.MustCompile(`\$(deltatoken|skiptoken)=[A-Za-z0-9_.-]+`)

// assignmentIDPattern matches an appRoleAssignment id, partly random.
var assignmentIDPattern = regexp.MustCompile(`"id": "[A-Za-z0-9_-]{43}"`)

// TestGoldenDirectory records complete answers of the group, membership,
// groups/delta and app role assignment endpoints, as a client sees them.
func TestGoldenDirectory(t *testing.T) {
	t.Parallel()
	tn := newTenantWith(t, graphsim.Options{Token: testToken, Throttle: graphsim.ThrottleDocumented})
	send := func(method, path string, body any, headers ...string) string {
		r := tn.request(method, path, body, append([]string{"client-request-id", "golden"}, headers...)...)
		text := stateToken.ReplaceAllString(transcript(t, tn, r), "$$$1=<token>")
		return assignmentIDPattern.ReplaceAllString(text, `"id": "<assignment-id>"`)
	}

	golden(t, "group-created", send(http.MethodPost, "/v1.0/groups", newGroup("PartnerGuests",
		map[string]any{"description": "guests who reach the intranet"})))
	g := tn.get("/v1.0/groups").object(t)["value"].([]any)[0].(map[string]any)["id"].(string)
	ann := tn.user("ann", map[string]any{"userType": "Guest"})
	require.Equal(t, http.StatusNoContent, tn.addMember(g, ann).status)
	golden(t, "group-member-twice", send(http.MethodPost, "/v1.0/groups/"+g+"/members/$ref", memberRef(ann)))
	golden(t, "transitive-cast-not-advanced", send(http.MethodGet, "/v1.0/groups/"+g+"/transitiveMembers/microsoft.graph.user", nil))
	golden(t, "transitive-cast-guests", send(http.MethodGet,
		"/v1.0/groups/"+g+"/transitiveMembers/microsoft.graph.user?$count=true&$select=id,userPrincipalName&$filter=userType%20eq%20'Guest'",
		nil, eventual, "eventual"))
	golden(t, "group-delta-initial", send(http.MethodGet, "/v1.0/groups/delta?$select=displayName,members", nil))

	sp := tn.app("Intranet")["id"].(string)
	golden(t, "approleassignedto-created", send(http.MethodPost, "/v1.0/servicePrincipals/"+sp+"/appRoleAssignedTo",
		assignment(g, sp, defaultRole)))
	golden(t, "serviceprincipal-unknown-appid", send(http.MethodPost, "/v1.0/servicePrincipals",
		map[string]any{"appId": "00000000-1111-4222-8333-444444444444"}))

	// The state file's directory part.
	snap, err := tn.sim.Snapshot()
	require.NoError(t, err)
	var full map[string]any
	require.NoError(t, json.Unmarshal(snap, &full))
	part := map[string]any{}
	for _, k := range []string{"directorySeq", "groups", "removedGroups", "applications", "servicePrincipals"} {
		if v, ok := full[k]; ok {
			part[k] = v
		}
	}
	raw, err := json.MarshalIndent(part, "", "  ")
	require.NoError(t, err)
	golden(t, "snapshot-directory", assignmentIDPattern.ReplaceAllString(normalize(tn, string(raw)+"\n"), `"id": "<assignment-id>"`))
}
