package graphsim_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/guestsync/guestsync/pkg/graphsim"
)

func invitation(addr string, overrides map[string]any) map[string]any {
	body := map[string]any{"invitedUserEmailAddress": addr, "inviteRedirectUrl": "https://myapps.microsoft.com"}
	for k, v := range overrides {
		if v == nil {
			delete(body, k)
			continue
		}
		body[k] = v
	}
	return body
}

func (tn *tenant) invite(body map[string]any) map[string]any {
	tn.t.Helper()
	r := tn.request(http.MethodPost, "/v1.0/invitations", body)
	require.Equal(tn.t, http.StatusCreated, r.status, "body: %s", r.body)
	return r.object(tn.t)
}

func TestCreateInvitation(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	inv := tn.invite(invitation("Nora.Smith@Fabrikam.com", map[string]any{
		"invitedUserDisplayName": "Nora Smith (Fabrikam)",
		"invitedUserMessageInfo": map[string]any{"customizedMessageBody": "Welcome"},
	}))

	assert.Equal(t, "https://graph.microsoft.com/v1.0/$metadata#invitations/$entity", inv["@odata.context"])
	assert.Regexp(t, guidPattern, inv["id"])
	assert.Equal(t, "PendingAcceptance", inv["status"])
	assert.Equal(t, "Guest", inv["invitedUserType"])
	assert.Equal(t, false, inv["sendInvitationMessage"], "sendInvitationMessage defaults to false")
	assert.Equal(t, "Nora.Smith@Fabrikam.com", inv["invitedUserEmailAddress"])
	assert.Equal(t, "https://myapps.microsoft.com", inv["inviteRedirectUrl"])
	assert.Equal(t, "Welcome", inv["invitedUserMessageInfo"].(map[string]any)["customizedMessageBody"])
	redeem, err := url.Parse(inv["inviteRedeemUrl"].(string))
	require.NoError(t, err)
	assert.Equal(t, "login.microsoftonline.com", redeem.Host)
	assert.Contains(t, redeem.Query().Get("rd"), "tenant=11111111-2222-4333-8444-555555555555")
	userID := inv["invitedUser"].(map[string]any)["id"].(string)
	assert.Regexp(t, guidPattern, userID)

	// The invited user exists and can be read and PATCHed by id.
	fields := "id,displayName,mail,userPrincipalName,userType,externalUserState,creationType,accountEnabled,mailNickname,proxyAddresses"
	u := tn.get("/v1.0/users/" + userID + "?$select=" + fields).object(t)
	assert.Equal(t, "Nora Smith (Fabrikam)", u["displayName"])
	assert.Equal(t, "Nora.Smith@Fabrikam.com", u["mail"])
	assert.Equal(t, "Nora.Smith_fabrikam.com#EXT#@Contoso.onmicrosoft.com", u["userPrincipalName"],
		"UPN alias_domain#EXT#@ the initial domain")
	assert.Equal(t, "Nora.Smith_fabrikam.com#EXT#", u["mailNickname"])
	assert.Equal(t, "Guest", u["userType"])
	assert.Equal(t, "PendingAcceptance", u["externalUserState"])
	assert.Equal(t, "Invitation", u["creationType"])
	assert.Equal(t, true, u["accountEnabled"])
	assert.Equal(t, []any{"SMTP:Nora.Smith@Fabrikam.com"}, u["proxyAddresses"])
	assert.Equal(t, http.StatusNoContent,
		tn.request(http.MethodPatch, "/v1.0/users/"+userID, map[string]any{"companyName": "Fabrikam"}).status)
	r := tn.get("/v1.0/users/Nora.Smith_fabrikam.com%23EXT%23@contoso.onmicrosoft.com?$select=id")
	assert.Equal(t, userID, r.object(t)["id"], "the guest UPN is addressable with %%23")
}

func TestInvitationDefaultsAndMember(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	inv := tn.invite(invitation("pat@partner.example", map[string]any{"invitedUserType": "member", "sendInvitationMessage": true}))
	assert.Equal(t, "Member", inv["invitedUserType"])
	assert.Equal(t, true, inv["sendInvitationMessage"])
	assert.Nil(t, inv["invitedUserDisplayName"])
	u := tn.get("/v1.0/users/" + inv["invitedUser"].(map[string]any)["id"].(string) + "?$select=displayName,userType").object(t)
	assert.Equal(t, "pat", u["displayName"], "without invitedUserDisplayName the name is the address's user name")
	assert.Equal(t, "Member", u["userType"])
}

func TestInvitationInitialDomainAdded(t *testing.T) {
	t.Parallel()
	// Every tenant has an initial .onmicrosoft.com domain; with only custom
	// domains configured the emulator adds "<TenantName>.onmicrosoft.com".
	tn := newTenantWith(t, graphsim.Options{VerifiedDomains: []string{"partners.contoso.com"}, TenantName: "Contoso Ltd"})
	inv := tn.invite(invitation("x@y.example", nil))
	u := tn.get("/v1.0/users/" + inv["invitedUser"].(map[string]any)["id"].(string)).object(t)
	assert.Equal(t, "x_y.example#EXT#@contosoltd.onmicrosoft.com", u["userPrincipalName"])
}

func TestInvitingAnExistingAddress(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	first := tn.invite(invitation("sam@partner.example", nil))
	firstID := first["invitedUser"].(map[string]any)["id"]
	member := tn.create(newUser("mia", map[string]any{"mail": "mia@partner.example"}))

	tests := []struct {
		name   string
		addr   string
		wantID any
		status string
	}{
		{"pending guest, same case", "sam@partner.example", firstID, "PendingAcceptance"},
		{"pending guest, other case", "SAM@Partner.Example", firstID, "PendingAcceptance"},
		{"existing member by mail", "mia@partner.example", member["id"], "Completed"},
		{"existing member by UPN", "mia@contoso.com", member["id"], "Completed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inv := tn.as(t).invite(invitation(tt.addr, nil))
			assert.Equal(t, tt.wantID, inv["invitedUser"].(map[string]any)["id"])
			assert.Equal(t, tt.status, inv["status"])
			assert.NotEqual(t, first["id"], inv["id"], "each invitation has its own id")
		})
	}
	assert.Equal(t, 2, tn.sim.Stats().Users, "no duplicate user")
}

func TestInvitationValidation(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	tests := []struct {
		name    string
		body    any
		status  int
		code    string
		message string
	}{
		{"no address", invitation("", map[string]any{"invitedUserEmailAddress": nil}), 400, "BadRequest",
			"Property invitedUserEmailAddress value is required but is empty or missing."},
		{"no redirect", invitation("a@b.example", map[string]any{"inviteRedirectUrl": nil}), 400, "BadRequest",
			"Property inviteRedirectUrl value is required but is empty or missing."},
		{"not an address", invitation("nobody", nil), 400, "BadRequest",
			"Invalid value specified for property 'invitedUserEmailAddress' of resource 'Invitation': not a valid email address."},
		{"forbidden character", invitation("a+b@b.example", nil), 400, "BadRequest",
			"Invalid value specified for property 'invitedUserEmailAddress' of resource 'Invitation': not a valid email address."},
		{"leading period", invitation(".a@b.example", nil), 400, "BadRequest",
			"Invalid value specified for property 'invitedUserEmailAddress' of resource 'Invitation': not a valid email address."},
		{"relative redirect", invitation("a@b.example", map[string]any{"inviteRedirectUrl": "/home"}), 400, "BadRequest",
			"Invalid value specified for property 'inviteRedirectUrl' of resource 'Invitation': not an absolute http or https URL."},
		{"bad user type", invitation("a@b.example", map[string]any{"invitedUserType": "Owner"}), 400, "BadRequest",
			"Invalid value specified for property 'invitedUserType' of resource 'Invitation': must be Guest or Member."},
		{"unknown property", invitation("a@b.example", map[string]any{"shoeSize": 44}), 400, "BadRequest",
			"The property 'shoeSize' does not exist on type 'microsoft.graph.invitation'. Make sure to only use property names that are defined by the type."},
		{"wrong type", invitation("a@b.example", map[string]any{"sendInvitationMessage": "yes"}), 400, "BadRequest",
			"Cannot convert the literal 'yes' to the expected type for property 'sendInvitationMessage'."},
		{"not JSON", []byte("nope"), 400, "BadRequest",
			"Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format."},
		{"resetRedemption", invitation("a@b.example", map[string]any{"resetRedemption": true}), 501, "NotImplemented",
			"graphsim does not emulate resetRedemption yet."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			requireError(t, tn.as(t).request(http.MethodPost, "/v1.0/invitations", tt.body), tt.status, tt.code, tt.message)
		})
	}
	t.Run("gzip body", func(t *testing.T) {
		t.Parallel()
		r := tn.as(t).request(http.MethodPost, "/v1.0/invitations", gzipped(t, invitation("gz@b.example", nil)),
			"Content-Encoding", "gzip")
		assert.Equal(t, http.StatusCreated, r.status, "body: %s", r.body)
	})
}
