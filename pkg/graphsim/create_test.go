package graphsim_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCreateUser(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	u := tn.create(newUser("ada", map[string]any{
		"@odata.type": "#microsoft.graph.user", // msgraph-sdk-go sends this
		"employeeId":  "E-1",
		"companyName": "Partner Ltd",
		"givenName":   "Ada",
		"mail":        "ada@partner.example",
	}))

	assert.Equal(t, "https://graph.microsoft.com/v1.0/$metadata#users/$entity", u["@odata.context"])
	assert.Regexp(t, guidPattern, u["id"])
	assert.Equal(t, "User ada", u["displayName"])
	assert.Equal(t, "ada@contoso.com", u["userPrincipalName"])
	assert.Equal(t, "ada", u["mailNickname"])
	assert.Equal(t, true, u["accountEnabled"])
	assert.Equal(t, "E-1", u["employeeId"])
	assert.Equal(t, "Partner Ltd", u["companyName"])
	assert.Equal(t, "Member", u["userType"], "userType defaults to Member")
	assert.Equal(t, "2026-11-24T01:02:03Z", u["createdDateTime"])
	assert.Equal(t, []any{"SMTP:ada@partner.example"}, u["proxyAddresses"])
	assert.Equal(t, []any{}, u["businessPhones"])
	assert.Nil(t, u["jobTitle"])
	require.Contains(t, u, "passwordProfile")
	assert.Nil(t, u["passwordProfile"], "the password is never echoed")
	assert.NotContains(t, u, "@odata.type")

	guest := tn.create(newUser("guest", map[string]any{"userType": "guest"}))
	assert.Equal(t, "Guest", guest["userType"])
}

func TestCreateUserMissingRequiredProperty(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	tests := []struct {
		name      string
		overrides map[string]any
		property  string
	}{
		{"accountEnabled", map[string]any{"accountEnabled": nil}, "accountEnabled"},
		{"displayName", map[string]any{"displayName": nil}, "displayName"},
		{"empty displayName", map[string]any{"displayName": ""}, "displayName"},
		{"mailNickname", map[string]any{"mailNickname": nil}, "mailNickname"},
		{"userPrincipalName", map[string]any{"userPrincipalName": nil}, "userPrincipalName"},
		{"passwordProfile", map[string]any{"passwordProfile": nil}, "passwordProfile"},
		{"password", map[string]any{"passwordProfile": map[string]any{"forceChangePasswordNextSignIn": true}}, "passwordProfile"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := tn.as(t).request(http.MethodPost, "/v1.0/users", newUser("req", tt.overrides))
			requireError(t, r, 400, "Request_BadRequest",
				"Property "+tt.property+" value is required but is empty or missing.")
		})
	}
	// An explicit JSON null counts as missing too.
	body := newUser("nullname", nil)
	body["displayName"] = nil
	requireError(t, tn.request(http.MethodPost, "/v1.0/users", body), 400, "Request_BadRequest",
		"Property displayName value is required but is empty or missing.")
}

func TestCreateUserUserPrincipalName(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	alias64 := strings.Repeat("a", 64)
	tests := []struct {
		name  string
		upn   string
		valid bool
	}{
		{"plain", "bob@contoso.com", true},
		{"domain case-insensitive", "carol@CONTOSO.COM", true},
		{"initial domain", "dan@contoso.onmicrosoft.com", true},
		{"guest form with # and _", "erin_partner.com#EXT#@contoso.onmicrosoft.com", true},
		{"all allowed symbols", "f'.-_!#^~g@contoso.com", true},
		{"64 before @ and 48 after", alias64 + "@" + domain48, true},
		{"no @", "frank.contoso.com", false},
		{"two @", "gina@x@contoso.com", false},
		{"dot before @", "hank.@contoso.com", false},
		{"space", "i an@contoso.com", false},
		{"asterisk", "j*n@contoso.com", false},
		{"percent", "k%n@contoso.com", false},
		{"non-ASCII", "lé@contoso.com", false},
		{"empty alias", "@contoso.com", false},
		{"65 before @", alias64 + "b@contoso.com", false},
		{"49 after @", "m@" + domain49, false},
		{"114 in total", alias64 + "@" + domain49, false},
		{"unverified domain", "nina@fabrikam.com", false},
		{"subdomain of a verified domain", "omar@sub.contoso.com", false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			body := newUser("upn"+string(rune('a'+i)), map[string]any{"userPrincipalName": tt.upn})
			r := tn.as(t).request(http.MethodPost, "/v1.0/users", body)
			if tt.valid {
				require.Equal(t, http.StatusCreated, r.status, "body: %s", r.body)
				assert.Equal(t, tt.upn, r.object(t)["userPrincipalName"])
				return
			}
			e := requireError(t, r, 400, "Request_BadRequest", "Property userPrincipalName is invalid.")
			require.Len(t, e.Details, 1)
			assert.Equal(t, "InvalidValue", e.Details[0].Code)
			assert.Equal(t, "userPrincipalName", e.Details[0].Target)
		})
	}
}

func TestCreateUserConflicts(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	first := tn.create(newUser("first", map[string]any{
		"onPremisesImmutableId": "AbC123==",
		"mail":                  "first@partner.example",
	}))
	firstID := first["id"].(string)

	tests := []struct {
		name      string
		overrides map[string]any
		property  string
	}{
		{"same UPN in other case", map[string]any{"userPrincipalName": "FIRST@Contoso.com"}, "userPrincipalName"},
		{"same onPremisesImmutableId", map[string]any{"onPremisesImmutableId": "AbC123=="}, "onPremisesImmutableId"},
		{"mail that is another user's proxy address", map[string]any{"mail": "First@Partner.example"}, "proxyAddresses"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := tn.as(t).request(http.MethodPost, "/v1.0/users", newUser("second"+tt.property, tt.overrides))
			msg := "Another object with the same value for property " + tt.property + " already exists."
			e := requireError(t, r, 400, "Request_BadRequest", msg)
			require.Len(t, e.Details, 2)
			assert.Equal(t, "ObjectConflict", e.Details[0].Code)
			assert.Equal(t, tt.property, e.Details[0].Target)
			assert.Equal(t, msg, e.Details[0].Message)
			assert.Equal(t, "ConflictingObjects", e.Details[1].Code)
			assert.Equal(t, "User_"+firstID, e.Details[1].Target)
		})
	}

	t.Run("mailNickname need not be unique", func(t *testing.T) {
		t.Parallel()
		tn.as(t).create(newUser("third", map[string]any{"mailNickname": "first"}))
	})
}

func TestCreateUserPasswordComplexity(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	tests := []struct {
		name     string
		password string
		valid    bool
	}{
		{"three classes, 8 characters", "abcDEF12", true},
		{"lower, symbol (space) and digit", "abc def1", true},
		{"all four classes", "Passw0rd!", true},
		{"256 characters", strings.Repeat("aB1", 85) + "x", true},
		{"7 characters", "aB1!aB1", false},
		{"two classes", "password123", false},
		{"one class", "ABCDEFGHIJ", false},
		{"257 characters", strings.Repeat("aB1", 85) + "xy", false},
		{"non-ASCII", "Pässwörd1", false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			body := newUser("pw"+string(rune('a'+i)), map[string]any{"passwordProfile": map[string]any{"password": tt.password}})
			r := tn.as(t).request(http.MethodPost, "/v1.0/users", body)
			if tt.valid {
				require.Equal(t, http.StatusCreated, r.status, "body: %s", r.body)
				return
			}
			requireError(t, r, 400, "Request_BadRequest",
				"The specified password does not comply with password complexity requirements. Please provide a different password.")
		})
	}
}

func TestCreateUserInvalidValues(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	tests := []struct {
		name     string
		property string
		value    any
		valid    bool
	}{
		{"displayName 256", "displayName", strings.Repeat("d", 256), true},
		{"displayName 257", "displayName", strings.Repeat("d", 257), false},
		{"mailNickname 64", "mailNickname", strings.Repeat("m", 64), true},
		{"mailNickname 65", "mailNickname", strings.Repeat("m", 65), false},
		{"mailNickname with @", "mailNickname", "a@b", false},
		{"mailNickname with comma", "mailNickname", "a,b", false},
		{"mailNickname with space", "mailNickname", "a b", false},
		{"companyName 64", "companyName", strings.Repeat("c", 64), true},
		{"companyName 65", "companyName", strings.Repeat("c", 65), false},
		{"employeeId 16", "employeeId", strings.Repeat("1", 16), true},
		{"employeeId 17", "employeeId", strings.Repeat("1", 17), false},
		{"givenName 65", "givenName", strings.Repeat("g", 65), false},
		{"surname 65", "surname", strings.Repeat("s", 65), false},
		{"jobTitle 128", "jobTitle", strings.Repeat("j", 128), true},
		{"jobTitle 129", "jobTitle", strings.Repeat("j", 129), false},
		{"length counts characters, not bytes", "givenName", strings.Repeat("é", 64), true},
		{"onPremisesImmutableId with $", "onPremisesImmutableId", "ab$c", false},
		{"onPremisesImmutableId with _", "onPremisesImmutableId", "ab_c", false},
		{"onPremisesImmutableId base64", "onPremisesImmutableId", "q83vASNFZ4k+/w==", true},
		{"userType other than Member/Guest", "userType", "Visitor", false},
		{"usageLocation not two letters", "usageLocation", "USA", false},
		{"usageLocation two letters", "usageLocation", "de", true},
		{"two businessPhones", "businessPhones", []string{"1", "2"}, false},
		{"mail without @", "mail", "nobody", false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			body := newUser("iv"+string(rune('a'+i)), map[string]any{tt.property: tt.value})
			r := tn.as(t).request(http.MethodPost, "/v1.0/users", body)
			if tt.valid {
				require.Equal(t, http.StatusCreated, r.status, "body: %s", r.body)
				return
			}
			msg := "Invalid value specified for property '" + tt.property + "' of resource 'User'."
			e := requireError(t, r, 400, "Request_BadRequest", msg)
			require.Len(t, e.Details, 1)
			assert.Equal(t, "InvalidValue", e.Details[0].Code)
			assert.Equal(t, tt.property, e.Details[0].Target)
		})
	}
}

func TestCreateUserMalformedBodies(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	const unreadable = "Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format."
	tests := []struct {
		name    string
		body    any
		code    string
		message string
	}{
		{"unknown property", newUser("u1", map[string]any{"foo": "bar"}), "Request_BadRequest", "Invalid property 'foo'."},
		{"unknown nested property", newUser("u2", map[string]any{"passwordProfile": map[string]any{"password": "Passw0rd!x", "pin": 1}}),
			"Request_BadRequest", "Invalid property 'pin'."},
		{"unregistered extension property", newUser("u3", map[string]any{"extension_0123abcd_costCentre": "X"}),
			"Request_BadRequest", "The following extension properties are not available: extension_0123abcd_costCentre."},
		{"wrong type", newUser("u4", map[string]any{"accountEnabled": "yes"}), "BadRequest",
			"Cannot convert the literal 'yes' to the expected type 'Edm.Boolean'."},
		{"not JSON", []byte("{accountEnabled:"), "BadRequest", unreadable},
		{"empty body", []byte(""), "BadRequest", unreadable},
		{"JSON array", []byte("[]"), "BadRequest", unreadable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			requireError(t, tn.as(t).request(http.MethodPost, "/v1.0/users", tt.body), 400, tt.code, tt.message)
		})
	}
}

func TestCreateUserIgnoresReadOnlyProperties(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	u := tn.create(newUser("ro", map[string]any{"id": "not-a-guid", "createdDateTime": "2001-01-01T00:00:00Z"}))
	assert.Regexp(t, guidPattern, u["id"])
	assert.Equal(t, "2026-11-24T01:02:03Z", u["createdDateTime"])
}

func TestGzipRequestBodies(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	tests := []struct {
		name     string
		gzip     bool
		encoding string
	}{
		{"gzip with header", true, "gzip"},
		// GRAPH.md: after a 429 the SDK's retry sends the plain body with the
		// gzip header still set.
		{"plain body with gzip header", false, "gzip"},
		{"gzip without header", true, ""},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			body := newUser("gz"+string(rune('a'+i)), nil)
			var raw any = body
			if tt.gzip {
				raw = gzipped(t, body)
			}
			r := tn.as(t).request(http.MethodPost, "/v1.0/users", raw, "Content-Encoding", tt.encoding)
			require.Equal(t, http.StatusCreated, r.status, "body: %s", r.body)
			assert.Equal(t, body["userPrincipalName"], r.object(t)["userPrincipalName"])
		})
	}

	t.Run("gzip PATCH", func(t *testing.T) {
		t.Parallel()
		tna := tn.as(t)
		id := tna.create(newUser("gzpatch", nil))["id"].(string)
		r := tna.request(http.MethodPatch, "/v1.0/users/"+id, gzipped(t, map[string]any{"jobTitle": "Zipped"}), "Content-Encoding", "gzip")
		require.Equal(t, http.StatusNoContent, r.status, "body: %s", r.body)
		assert.Equal(t, "Zipped", tna.get("/v1.0/users/" + id).object(t)["jobTitle"])
	})

	t.Run("corrupt gzip", func(t *testing.T) {
		t.Parallel()
		raw := gzipped(t, newUser("gzbad", nil))
		r := tn.as(t).request(http.MethodPost, "/v1.0/users", raw[:len(raw)-10], "Content-Encoding", "gzip")
		require.Equal(t, http.StatusBadRequest, r.status)
		assert.Equal(t, "BadRequest", r.graphError(t).Code)
	})
}

// TestUniquenessFollowsChanges: the values a user holds are taken, and
// freed again, by every write that changes them.
func TestUniquenessFollowsChanges(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	conflict := func(r *response, property string) {
		t.Helper()
		requireError(t, r, 400, "Request_BadRequest", "Another object with the same value for property "+property+" already exists.")
	}
	create := func(alias string, overrides map[string]any) *response {
		t.Helper()
		return tn.request(http.MethodPost, "/v1.0/users", newUser(alias, overrides))
	}
	patch := func(id string, body map[string]any) {
		t.Helper()
		require.Equal(t, http.StatusNoContent, tn.request(http.MethodPatch, "/v1.0/users/"+id, body).status)
	}
	a := tn.create(newUser("a", map[string]any{"onPremisesImmutableId": "SW1tQQ==", "mail": "a@partner.example"}))["id"].(string)
	conflict(create("b", map[string]any{"onPremisesImmutableId": "sw1TqQ=="}), "onPremisesImmutableId")
	conflict(create("b", map[string]any{"mail": "A@Partner.Example"}), "proxyAddresses")

	// An update frees the old values and takes the new ones.
	patch(a, map[string]any{"onPremisesImmutableId": "SW1tQjI=", "mail": "a2@partner.example", "userPrincipalName": "a2@contoso.com"})
	b := tn.create(newUser("b", map[string]any{"onPremisesImmutableId": "SW1tQQ==", "mail": "a@partner.example"}))["id"].(string)
	tn.create(newUser("a", nil)) // the old UPN
	conflict(create("c", map[string]any{"onPremisesImmutableId": "SW1TQJI="}), "onPremisesImmutableId")
	conflict(create("c", map[string]any{"mail": "A2@partner.example"}), "proxyAddresses")
	conflict(create("c", map[string]any{"userPrincipalName": "A2@contoso.com"}), "userPrincipalName")
	patch(a, map[string]any{"onPremisesImmutableId": nil, "mail": nil})
	c := tn.create(newUser("c", map[string]any{"onPremisesImmutableId": "SW1tQjI=", "mail": "a2@partner.example"}))["id"].(string)

	// A deletion frees them, a restore takes them back.
	require.Equal(t, http.StatusNoContent, tn.request(http.MethodDelete, "/v1.0/users/"+b, nil).status)
	d := tn.create(newUser("d", map[string]any{"onPremisesImmutableId": "SW1tQQ=="}))["id"].(string)
	restoreB := "/v1.0/directory/deletedItems/" + b + "/restore"
	conflict(tn.request(http.MethodPost, restoreB, nil), "onPremisesImmutableId")
	require.Equal(t, http.StatusNoContent, tn.request(http.MethodDelete, "/v1.0/users/"+d, nil).status)
	require.Equal(t, http.StatusNoContent, tn.request(http.MethodDelete, "/v1.0/directory/deletedItems/"+d, nil).status)
	require.Equal(t, http.StatusOK, tn.request(http.MethodPost, restoreB, nil).status)
	conflict(create("e", map[string]any{"onPremisesImmutableId": "sw1tqq=="}), "onPremisesImmutableId")
	conflict(create("e", map[string]any{"mail": "a@PARTNER.example"}), "proxyAddresses")

	// An invitation finds the existing user by any of its addresses, in any
	// case: its mail (proxy address), and other mails set by an update.
	inviteeOf := func(addr string) string {
		t.Helper()
		return tn.invite(invitation(addr, nil))["invitedUser"].(map[string]any)["id"].(string)
	}
	assert.Equal(t, b, inviteeOf("A@partner.EXAMPLE"))
	assert.Equal(t, c, inviteeOf("a2@Partner.example"))
	patch(c, map[string]any{"otherMails": []string{"c.other@elsewhere.example"}})
	assert.Equal(t, c, inviteeOf("C.Other@elsewhere.example"))
	patch(c, map[string]any{"otherMails": []string{}})
	assert.NotEqual(t, c, inviteeOf("c.other@elsewhere.example"), "no longer c's address: a new guest")
}
