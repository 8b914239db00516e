package graphsim_test

import (
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// seedPeople creates a small, varied population and returns ids by alias.
func seedPeople(tn *tenant) map[string]string {
	tn.t.Helper()
	people := []map[string]any{
		newUser("alice", map[string]any{"displayName": "Alice Archer", "mail": "alice@partner.example",
			"employeeId": "E1", "onPremisesImmutableId": "aW1tMQ==", "userType": "Guest", "companyName": "Partner"}),
		newUser("bob", map[string]any{"displayName": "Bob O'Brien", "employeeId": "E2", "userType": "Member", "accountEnabled": false}),
		newUser("carol", map[string]any{"displayName": "Carol Archer", "mail": "carol@other.example", "userType": "Guest",
			"userPrincipalName": "carol_other.example#EXT#@contoso.onmicrosoft.com"}),
		newUser("dave", map[string]any{"displayName": "dave lower", "officeLocation": "HQ"}),
	}
	ids := map[string]string{}
	for _, p := range people {
		ids[p["mailNickname"].(string)] = tn.create(p)["id"].(string)
	}
	return ids
}

func listPath(options ...string) string {
	v := url.Values{}
	for i := 0; i+1 < len(options); i += 2 {
		v.Set(options[i], options[i+1])
	}
	return "/v1.0/users?" + v.Encode()
}

// nicknames lists the users of a page by mailNickname (needs $select).
func nicknames(t *testing.T, r *response) []string {
	t.Helper()
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	var out []string
	for _, v := range r.object(t)["value"].([]any) {
		out = append(out, v.(map[string]any)["mailNickname"].(string))
	}
	sort.Strings(out)
	return out
}

func TestListFilter(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	ids := seedPeople(tn)
	tests := []struct {
		filter string
		want   []string
	}{
		{"userPrincipalName eq 'alice@contoso.com'", []string{"alice"}},
		{"userPrincipalName eq 'ALICE@CONTOSO.COM'", []string{"alice"}},
		{"UserPrincipalName EQ 'alice@contoso.com'", []string{"alice"}},
		{"userPrincipalName eq 'carol_other.example#EXT#@contoso.onmicrosoft.com'", []string{"carol"}},
		{"mail eq 'carol@other.example'", []string{"carol"}},
		{"mailNickname eq 'bob'", []string{"bob"}},
		{"employeeId eq 'E2'", []string{"bob"}},
		{"onPremisesImmutableId eq 'aW1tMQ=='", []string{"alice"}},
		{"userType eq 'guest'", []string{"alice", "carol"}},
		{"displayName eq 'Bob O''Brien'", []string{"bob"}},
		{"id eq '" + ids["dave"] + "'", []string{"dave"}},
		{"accountEnabled eq false", []string{"bob"}},
		{"externalUserState eq 'PendingAcceptance'", nil},
		{"userType eq 'Guest' and mail eq 'alice@partner.example'", []string{"alice"}},
		{"userType eq 'Guest' and employeeId eq 'E2'", nil},
		{"employeeId eq 'E1' or employeeId eq 'E2'", []string{"alice", "bob"}},
		{"(employeeId eq 'E1' or employeeId eq 'E2') and userType eq 'Member'", []string{"bob"}},
		{"startsWith(displayName,'archer') or startsWith(displayName, 'Carol')", []string{"carol"}},
		{"startswith(userPrincipalName,'ALI')", []string{"alice"}},
		{"mailNickname in ('alice', 'dave', 'zed')", []string{"alice", "dave"}},
	}
	for _, tt := range tests {
		t.Run(tt.filter, func(t *testing.T) {
			t.Parallel()
			r := tn.as(t).get(listPath("$filter", tt.filter, "$select", "mailNickname"))
			assert.Equal(t, tt.want, nicknames(t, r))
		})
	}
}

func TestListFilterRejected(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	unsupported := func(p string) string {
		return "Unsupported or invalid query filter clause specified for property '" + p + "' of resource 'User'."
	}
	tests := []struct {
		name    string
		filter  string
		status  int
		code    string
		message string
	}{
		{"companyName needs advanced query", "companyName eq 'Partner'", 400, "Request_UnsupportedQuery", unsupported("companyName")},
		{"ne needs advanced query", "userType ne 'Member'", 400, "Request_UnsupportedQuery", unsupported("userType")},
		{"not needs advanced query", "not(userType eq 'Member')", 400, "Request_UnsupportedQuery", unsupported("userType")},
		{"eq null needs advanced query", "mail eq null", 400, "Request_UnsupportedQuery", unsupported("mail")},
		{"endsWith needs advanced query", "endsWith(mail,'@partner.example')", 400, "Request_UnsupportedQuery",
			"Operator 'endsWith' is not supported because the required parameters might be missing. Try adding $count=true query parameter and ConsistencyLevel:eventual header. Refer to https://aka.ms/graph-docs/advanced-queries for more information"},
		{"not filterable", "officeLocation eq 'HQ'", 400, "Request_UnsupportedQuery", unsupported("officeLocation")},
		{"endsWith on a property without it", "endsWith(displayName,'x')", 400, "Request_UnsupportedQuery", unsupported("displayName")},
		{"ordering comparison", "employeeId ge 'E1'", 400, "Request_UnsupportedQuery", unsupported("employeeId")},
		{"contains", "contains(displayName,'a')", 400, "Request_UnsupportedQuery", unsupported("displayName")},
		{"unknown property", "favouriteColour eq 'red'", 400, "BadRequest",
			"Could not find a property named 'favouriteColour' on type 'microsoft.graph.user'."},
		{"type mismatch", "accountEnabled eq 'yes'", 400, "BadRequest",
			"A binary operator with incompatible types was detected. Found operand types 'Edm.Boolean' and 'Edm.String' for operator kind 'Equal'."},
		{"unterminated string", "mail eq 'x", 400, "BadRequest", "Invalid filter clause: unterminated string literal starting at position 8"},
		{"missing operator", "mail 'x'", 400, "BadRequest", "Invalid filter clause: operator expected after 'mail'"},
		{"trailing garbage", "mail eq 'x' mail", 400, "BadRequest", "Invalid filter clause: syntax error at 'mail'"},
		{"lambda not emulated", "proxyAddresses/any(p:p eq 'smtp:a@b.c')", 501, "NotImplemented",
			"graphsim does not emulate lambda operators in $filter yet."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			requireError(t, tn.as(t).get(listPath("$filter", tt.filter)), tt.status, tt.code, tt.message)
		})
	}
}

func TestListAdvancedQuery(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	seedPeople(tn)
	tests := []struct {
		filter string
		want   []string
	}{
		{"companyName eq 'Partner'", []string{"alice"}},
		{"userType ne 'Guest'", []string{"bob", "dave"}},
		{"not(userType eq 'Guest')", []string{"bob", "dave"}},
		{"mail eq null", []string{"bob", "dave"}},
		{"endsWith(mail,'@PARTNER.example')", []string{"alice"}},
	}
	for _, tt := range tests {
		t.Run(tt.filter, func(t *testing.T) {
			t.Parallel()
			r := tn.as(t).get(listPath("$filter", tt.filter, "$select", "mailNickname", "$count", "true"),
				"ConsistencyLevel", "eventual")
			assert.Equal(t, tt.want, nicknames(t, r))
			assert.EqualValues(t, len(tt.want), r.object(t)["@odata.count"])
		})
	}

	t.Run("header without $count=true is not advanced", func(t *testing.T) {
		t.Parallel()
		r := tn.as(t).get(listPath("$filter", "userType ne 'Guest'"), "ConsistencyLevel", "eventual")
		assert.Equal(t, http.StatusBadRequest, r.status)
	})
	t.Run("$count=true without the header is silently ignored", func(t *testing.T) {
		t.Parallel()
		r := tn.as(t).get(listPath("$count", "true"))
		require.Equal(t, http.StatusOK, r.status)
		assert.NotContains(t, r.object(t), "@odata.count")
	})
}

func TestListSelect(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	seedPeople(tn)

	r := tn.get("/v1.0/users")
	require.Equal(t, http.StatusOK, r.status)
	body := r.object(t)
	assert.Equal(t, "https://graph.microsoft.com/v1.0/$metadata#users", body["@odata.context"])
	users := body["value"].([]any)
	require.Len(t, users, 4)
	assert.ElementsMatch(t, []string{"id", "businessPhones", "displayName", "givenName", "jobTitle", "mail",
		"mobilePhone", "officeLocation", "preferredLanguage", "surname", "userPrincipalName"},
		keys(users[0].(map[string]any)), "Graph v1.0's default property set")
	assert.Equal(t, "2", r.header.Get("x-ms-resource-unit"))

	r = tn.get(listPath("$select", "displayName,EmployeeId,accountEnabled,passwordProfile"))
	require.Equal(t, http.StatusOK, r.status)
	body = r.object(t)
	assert.Equal(t, "https://graph.microsoft.com/v1.0/$metadata#users(displayName,employeeId,accountEnabled,passwordProfile)",
		body["@odata.context"])
	first := body["value"].([]any)[0].(map[string]any)
	assert.Equal(t, map[string]any{"displayName": "Alice Archer", "employeeId": "E1", "accountEnabled": true,
		"passwordProfile": nil}, first)
	assert.Equal(t, "1", r.header.Get("x-ms-resource-unit"))

	requireError(t, tn.get(listPath("$select", "displayName,shoeSize")), 400, "BadRequest",
		"Parsing OData Select and Expand failed: Could not find a property named 'shoeSize' on type 'microsoft.graph.user'.")
}

func TestListQueryOptions(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	seedPeople(tn)
	tests := []struct {
		name    string
		options []string
		status  int
		code    string
		message string
	}{
		{"$top=1", []string{"$top", "1"}, 200, "", ""},
		{"$top=999", []string{"$top", "999"}, 200, "", ""},
		{"$top=0", []string{"$top", "0"}, 400, "Request_UnsupportedQuery", "Invalid page size specified: '0'. Must be between 1 and 999 inclusive."},
		{"$top=1000", []string{"$top", "1000"}, 400, "Request_UnsupportedQuery", "Invalid page size specified: '1000'. Must be between 1 and 999 inclusive."},
		{"$top=-1", []string{"$top", "-1"}, 400, "BadRequest", "Invalid value '-1' for $top query option found. The $top query option requires a non-negative integer value."},
		{"$top=ten", []string{"$top", "ten"}, 400, "BadRequest", "Invalid value 'ten' for $top query option found. The $top query option requires a non-negative integer value."},
		{"$skip", []string{"$skip", "10"}, 400, "Request_BadRequest", "'$skip' is not supported by the service."},
		{"unknown option", []string{"$frobnicate", "1"}, 400, "BadRequest", "The query parameter '$frobnicate' is not supported."},
		{"non-$ parameters are ignored", []string{"api-version", "1"}, 200, "", ""},
		{"$search without ConsistencyLevel", []string{"$search", `"displayName:al"`}, 400, "Request_UnsupportedQuery",
			"Request with $search query parameter only works through MSGraph with a special request header: 'ConsistencyLevel: eventual'"},
		{"$orderby with $filter", []string{"$orderby", "displayName", "$filter", "userType eq 'Guest'"}, 400, "Request_UnsupportedQuery",
			"Sorting not supported for current query."},
		{"$orderby on createdDateTime", []string{"$orderby", "createdDateTime"}, 400, "Request_UnsupportedQuery",
			"Sorting not supported for current query."},
		{"$expand not emulated", []string{"$expand", "manager"}, 501, "NotImplemented", "graphsim does not emulate $expand yet."},
		{"forged $skiptoken", []string{"$skiptoken", "abc"}, 400, "Request_BadRequest", "Invalid $skiptoken value."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := tn.as(t).get(listPath(tt.options...))
			if tt.status == http.StatusOK {
				require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
				return
			}
			requireError(t, r, tt.status, tt.code, tt.message)
		})
	}

	t.Run("$top limits the page", func(t *testing.T) {
		t.Parallel()
		body := tn.as(t).get(listPath("$top", "3")).object(t)
		assert.Len(t, body["value"], 3)
		assert.Contains(t, body, "@odata.nextLink")
	})
	t.Run("$orderby displayName desc", func(t *testing.T) {
		t.Parallel()
		body := tn.as(t).get(listPath("$orderby", "displayName desc", "$select", "displayName")).object(t)
		var names []string
		for _, v := range body["value"].([]any) {
			names = append(names, v.(map[string]any)["displayName"].(string))
		}
		assert.Equal(t, []string{"dave lower", "Carol Archer", "Bob O'Brien", "Alice Archer"}, names)
	})
}

func TestListPagingFollowsNextLinks(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	const total = 2500
	for i := range total {
		tn.create(newUser(fmt.Sprintf("p%04d", i), nil))
	}

	seen := map[string]bool{}
	var pageSizes []int
	next := tn.srv.URL + listPath("$top", "999", "$select", "id,userPrincipalName", "$filter", "userType eq 'Member'")
	for next != "" {
		require.Less(t, len(pageSizes), 10, "paging does not terminate")
		req, err := http.NewRequest(http.MethodGet, next, nil)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+testToken)
		r := tn.send(req)
		require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
		body := r.object(t)
		page := body["value"].([]any)
		pageSizes = append(pageSizes, len(page))
		for _, v := range page {
			u := v.(map[string]any)
			assert.Equal(t, []string{"id", "userPrincipalName"}, sortedKeys(u))
			id := u["id"].(string)
			require.False(t, seen[id], "user %s returned twice", id)
			seen[id] = true
		}
		next, _ = body["@odata.nextLink"].(string)
		if next != "" {
			assert.True(t, strings.HasPrefix(next, tn.srv.URL+"/v1.0/users?"), "nextLink %q is absolute", next)
			u, err := url.Parse(next)
			require.NoError(t, err)
			q := u.Query()
			assert.Equal(t, "999", q.Get("$top"))
			assert.Equal(t, "userType eq 'Member'", q.Get("$filter"))
			assert.NotEmpty(t, q.Get("$skiptoken"))
			assert.Len(t, q["$skiptoken"], 1)
		}
	}
	assert.Equal(t, []int{999, 999, 502}, pageSizes)
	assert.Len(t, seen, total)
}

func TestListPagingSurvivesDeletes(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	var ids []string
	for i := range 6 {
		ids = append(ids, tn.create(newUser(fmt.Sprintf("d%d", i), nil))["id"].(string))
	}
	body := tn.get(listPath("$top", "3")).object(t)
	require.Len(t, body["value"], 3)
	// Deleting a user of the first page must not shift the second page.
	require.Equal(t, http.StatusNoContent, tn.request(http.MethodDelete, "/v1.0/users/"+ids[0], nil).status)
	req, err := http.NewRequest(http.MethodGet, body["@odata.nextLink"].(string), nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+testToken)
	second := tn.send(req).object(t)
	var got []string
	for _, v := range second["value"].([]any) {
		got = append(got, v.(map[string]any)["id"].(string))
	}
	assert.Equal(t, ids[3:], got)
	assert.NotContains(t, second, "@odata.nextLink")
}

func TestCountSegment(t *testing.T) {
	t.Parallel()
	tn := newTenant(t)
	seedPeople(tn)
	requireError(t, tn.get("/v1.0/users/$count"), 400, "Request_BadRequest", "$count is not currently supported.")

	r := tn.get("/v1.0/users/$count?$filter="+url.QueryEscape("userType eq 'Guest'"), "ConsistencyLevel", "eventual")
	require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
	assert.Equal(t, "2", string(r.body))
	assert.Equal(t, "text/plain", r.header.Get("Content-Type"))
}

func sortedKeys(m map[string]any) []string {
	k := keys(m)
	sort.Strings(k)
	return k
}
