package graph

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// admin changes a tenant as an administrator would: the scenarios of the
// group and application scopes run against fake (fake_test.go) and, once
// guestsync's emulator serves groups and service principals, against it
// through the documented calls (tenant below).
type admin interface {
	newReader(t *testing.T, opts Options) *Reader
	user(alias, userType string, enabled bool) string
	set(id, prop string, v any)
	deleteUser(id string)
	group(members ...string) string
	addMember(group, member string)
	removeMember(group, member string)
	deleteGroup(id string)
	servicePrincipal() string
	assign(sp, principal, principalType string)
	unassign(sp, principal string)
	// count returns how many requests' method and path contained s.
	count(s string) int
}

// missingID is an object id no tenant holds.
const missingID = "eeeeeeee-0000-4000-8000-000000000000"

var (
	_ admin = (*fake)(nil)
	_ admin = (*tenant)(nil)
)

func (f *fake) newReader(t *testing.T, opts Options) *Reader { return f.reader(t, opts) }

func (f *fake) servicePrincipal() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	sp := newID('c')
	f.assigned[sp] = []fakeAssignment{}
	return sp
}

// The emulator as an admin's script sees it: Graph's documented calls
// ("Create group", "Add member" with members/$ref, "Remove member",
// "Create application", "Create servicePrincipal", "Grant an
// appRoleAssignment for a service principal" and its delete).

func (tn *tenant) newReader(t *testing.T, opts Options) *Reader { return tn.reader(opts) }

func (tn *tenant) set(id, prop string, v any) { tn.patch(id, map[string]any{prop: v}) }

func (tn *tenant) deleteUser(id string) { tn.call(http.MethodDelete, "/users/"+id, nil) }

func (tn *tenant) group(members ...string) string {
	nick := fmt.Sprintf("partners%d", fakeIDs.Add(1))
	g := tn.call(http.MethodPost, "/groups", map[string]any{
		"displayName": "Partners " + nick, "mailEnabled": false, "mailNickname": nick, "securityEnabled": true,
	})
	id := g["id"].(string)
	for _, m := range members {
		tn.addMember(id, m)
	}
	return id
}

func (tn *tenant) addMember(group, member string) {
	tn.call(http.MethodPost, "/groups/"+group+"/members/$ref", map[string]any{"@odata.id": tn.url + "/directoryObjects/" + member})
}

func (tn *tenant) removeMember(group, member string) {
	tn.call(http.MethodDelete, "/groups/"+group+"/members/"+member+"/$ref", nil)
}

func (tn *tenant) deleteGroup(id string) { tn.call(http.MethodDelete, "/groups/"+id, nil) }

func (tn *tenant) servicePrincipal() string {
	app := tn.call(http.MethodPost, "/applications", map[string]any{"displayName": "Intranet (KCD)"})
	sp := tn.call(http.MethodPost, "/servicePrincipals", map[string]any{"appId": app["appId"]})
	return sp["id"].(string)
}

func (tn *tenant) assign(sp, principal, principalType string) {
	a := tn.call(http.MethodPost, "/servicePrincipals/"+sp+"/appRoleAssignedTo", map[string]any{
		"principalId": principal, "resourceId": sp, "appRoleId": "00000000-0000-0000-0000-000000000000",
	})
	tn.mu.Lock()
	tn.assignments[sp+" "+principal] = a["id"].(string)
	tn.mu.Unlock()
}

func (tn *tenant) unassign(sp, principal string) {
	tn.mu.Lock()
	id := tn.assignments[sp+" "+principal]
	tn.mu.Unlock()
	tn.call(http.MethodDelete, "/servicePrincipals/"+sp+"/appRoleAssignedTo/"+id, nil)
}

func (tn *tenant) count(s string) int {
	tn.mu.Lock()
	defer tn.mu.Unlock()
	n := 0
	for _, r := range tn.requests {
		if strings.Contains(r, s) {
			n++
		}
	}
	return n
}

// servesGroups reports whether the emulator serves groups and
// applications (GET /groups and GET /applications answer 200).
func (tn *tenant) servesGroups() bool {
	for _, path := range []string{"/groups", "/applications"} {
		req, _ := http.NewRequest(http.MethodGet, tn.url+path, nil)
		req.Header.Set("Authorization", "Bearer t0ken")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return false
		}
	}
	return true
}
