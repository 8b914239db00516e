package graphsim

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// listQuery is a validated set of OData query options for GET /users.
type listQuery struct {
	filter   filterNode
	selects  []*propDef // nil: Graph's default property set
	top      int
	orderBy  []orderKey
	count    bool // add @odata.count (advanced query with $count=true)
	advanced bool
	token    pageToken
}

type orderKey struct {
	prop *propDef
	desc bool
}

// queryOptions splits the query string into system query options ("$..."),
// keyed by lower-cased name. Graph ignores parameters without "$" and
// rejects unknown or repeated system query options the way OData does.
func queryOptions(u *url.URL, known ...string) (map[string]string, *graphError) {
	values, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return nil, newError(http.StatusBadRequest, codeBadRequest, "The query specified in the URI is not valid.")
	}
	opts := map[string]string{}
	for name, vs := range values {
		if !strings.HasPrefix(name, "$") {
			continue
		}
		key := strings.ToLower(name)
		if !contains(known, key) {
			return nil, newError(http.StatusBadRequest, codeBadRequest,
				fmt.Sprintf("The query parameter '%s' is not supported.", name))
		}
		if _, dup := opts[key]; dup || len(vs) > 1 {
			return nil, newError(http.StatusBadRequest, codeBadRequest,
				fmt.Sprintf("Query option '%s' was specified more than once, but it must be specified at most once.", name))
		}
		opts[key] = vs[0]
	}
	return opts, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// isEventual reports the advanced-query header. Graph docs, "Advanced query
// capabilities": the header is "ConsistencyLevel: eventual".
func isEventual(r *http.Request) bool {
	return strings.EqualFold(strings.TrimSpace(r.Header.Get("ConsistencyLevel")), "eventual")
}

// parseListQuery validates the options of GET /users.
func (s *Server) parseListQuery(r *http.Request) (*listQuery, *graphError) {
	return s.schema.parseListQuery(r)
}

// parseListQuery validates the options of a GET of a collection of sc's
// type (/users, /groups, /servicePrincipals, a group's members cast to
// users).
func (sc *schema) parseListQuery(r *http.Request) (*listQuery, *graphError) {
	opts, err := queryOptions(r.URL, "$filter", "$select", "$top", "$skiptoken", "$orderby",
		"$count", "$search", "$expand", "$skip", "$format")
	if err != nil {
		return nil, err
	}
	q := &listQuery{top: 100} // Graph docs, "List users": default page size 100.

	// GRAPH.md "Reading": there is no $skip on users; Graph answers 400
	// Request_BadRequest "'$skip' is not supported by the service."
	if _, ok := opts["$skip"]; ok {
		return nil, newError(http.StatusBadRequest, codeRequestBadRequest, "'$skip' is not supported by the service.")
	}
	if _, ok := opts["$expand"]; ok {
		return nil, errNotEmulated("$expand")
	}
	if v, ok := opts["$count"]; ok {
		switch strings.ToLower(v) {
		case "true":
			q.count = true
		case "false":
		default:
			return nil, newError(http.StatusBadRequest, codeBadRequest, fmt.Sprintf("'%s' is not a valid count option.", v))
		}
	}
	// Graph docs, "Advanced query capabilities": advanced queries need the
	// ConsistencyLevel: eventual header AND $count=true; without the header
	// Graph silently ignores $count=true (no @odata.count).
	q.advanced = isEventual(r) && q.count
	q.count = q.advanced
	if _, ok := opts["$search"]; ok {
		if !isEventual(r) {
			return nil, newError(http.StatusBadRequest, codeUnsupportedQuery, msgSearchNeedsEventual)
		}
		return nil, errNotEmulated("$search")
	}
	if v, ok := opts["$top"]; ok {
		if q.top, err = parseTop(v); err != nil {
			return nil, err
		}
	}
	if v, ok := opts["$select"]; ok {
		if q.selects, err = sc.parseSelect(v); err != nil {
			return nil, err
		}
	}
	if v, ok := opts["$filter"]; ok {
		if q.filter, err = parseFilter(v); err != nil {
			return nil, err
		}
		if err = sc.checkFilter(q.filter, q.advanced, false); err != nil {
			return nil, err
		}
	}
	if v, ok := opts["$orderby"]; ok {
		// Graph docs, "Advanced query capabilities": $filter with $orderby
		// needs the advanced query parameters; Graph answers 400
		// Request_UnsupportedQuery "Sorting not supported for current query."
		if q.filter != nil && !q.advanced {
			return nil, newError(http.StatusBadRequest, codeUnsupportedQuery, msgSortingNotSupported)
		}
		if q.orderBy, err = sc.parseOrderBy(v, q.advanced); err != nil {
			return nil, err
		}
	}
	if v, ok := opts["$skiptoken"]; ok {
		if q.token, err = parsePageToken(v, len(q.orderBy) > 0); err != nil {
			return nil, err
		}
	}
	return q, nil
}

// parseTop applies GRAPH.md "Reading": $top is 1 to 999; outside that Graph
// answers 400 Request_UnsupportedQuery "Invalid page size specified: '1000'.
// Must be between 1 and 999 inclusive." A value that is not a non-negative
// integer fails earlier, in OData's URI parser.
func parseTop(v string) (int, *graphError) {
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil || n < 0 {
		return 0, newError(http.StatusBadRequest, codeBadRequest, fmt.Sprintf(
			"Invalid value '%s' for $top query option found. The $top query option requires a non-negative integer value.", v))
	}
	if n < 1 || n > 999 {
		return 0, newError(http.StatusBadRequest, codeUnsupportedQuery,
			fmt.Sprintf("Invalid page size specified: '%d'. Must be between 1 and 999 inclusive.", n))
	}
	return n, nil
}

// parseSelect resolves a comma-separated $select list. An unknown property
// fails the whole request: 400 BadRequest "Parsing OData Select and Expand
// failed: Could not find a property named 'x' on type 'microsoft.graph.user'."
func (s *Server) parseSelect(v string) ([]*propDef, *graphError) {
	return s.schema.parseSelect(v)
}

func (sc *schema) parseSelect(v string) ([]*propDef, *graphError) {
	if strings.TrimSpace(v) == "" {
		return nil, nil
	}
	var out []*propDef
	for _, name := range strings.Split(v, ",") {
		p := sc.lookup(name)
		if p == nil {
			return nil, sc.errNoSuchProperty("Parsing OData Select and Expand failed: ", strings.TrimSpace(name))
		}
		if !containsProp(out, p) {
			out = append(out, p)
		}
	}
	return out, nil
}

func containsProp(list []*propDef, p *propDef) bool {
	for _, q := range list {
		if q == p {
			return true
		}
	}
	return false
}

// parseOrderBy resolves "$orderby=prop [asc|desc], ...". Graph docs,
// "Advanced query capabilities", $orderby table: displayName and
// userPrincipalName sort by default, createdDateTime only in advanced
// queries.
func (sc *schema) parseOrderBy(v string, advanced bool) ([]orderKey, *graphError) {
	var keys []orderKey
	for _, clause := range strings.Split(v, ",") {
		fields := strings.Fields(clause)
		if len(fields) == 0 || len(fields) > 2 {
			return nil, newError(http.StatusBadRequest, codeBadRequest, "Syntax error in $orderby: '"+v+"'.")
		}
		p := sc.lookup(fields[0])
		if p == nil {
			return nil, sc.errNoSuchProperty("", fields[0])
		}
		k := orderKey{prop: p}
		if len(fields) == 2 {
			switch strings.ToLower(fields[1]) {
			case "asc":
			case "desc":
				k.desc = true
			default:
				return nil, newError(http.StatusBadRequest, codeBadRequest, "Syntax error in $orderby: '"+v+"'.")
			}
		}
		if p.orderBy == unsupported || (p.orderBy == advancedOnly && !advanced) {
			return nil, newError(http.StatusBadRequest, codeUnsupportedQuery, msgSortingNotSupported)
		}
		keys = append(keys, k)
	}
	return keys, nil
}

// pageToken is the decoded $skiptoken. Without $orderby, pages continue after
// the creation sequence number of the last user returned, so creates and
// deletes between pages neither repeat nor skip users; with $orderby it is
// an offset into the sorted result.
type pageToken struct {
	set    bool
	after  uint64
	offset int
}

const tokenPrefix = "graphsim-page:"

func (t pageToken) encode(ordered bool) string {
	v := "s" + strconv.FormatUint(t.after, 10)
	if ordered {
		v = "o" + strconv.Itoa(t.offset)
	}
	return base64.RawURLEncoding.EncodeToString([]byte(tokenPrefix + v))
}

// parsePageToken decodes a $skiptoken. Graph's tokens are opaque; one the
// service did not issue is rejected with 400 (the exact Graph message for a
// forged token is not documented; this one names the problem).
func parsePageToken(v string, ordered bool) (pageToken, *graphError) {
	bad := newError(http.StatusBadRequest, codeRequestBadRequest, "Invalid $skiptoken value.")
	raw, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil || !strings.HasPrefix(string(raw), tokenPrefix) {
		return pageToken{}, bad
	}
	body := strings.TrimPrefix(string(raw), tokenPrefix)
	if len(body) < 2 || (body[0] == 'o') != ordered {
		return pageToken{}, bad
	}
	n, err := strconv.ParseUint(body[1:], 10, 63)
	if err != nil {
		return pageToken{}, bad
	}
	if ordered {
		return pageToken{set: true, offset: int(n)}, nil
	}
	return pageToken{set: true, after: n}, nil
}

// nextLink builds @odata.nextLink: an absolute URL (GRAPH.md "Reading") with
// the request's scheme, host and path, the original query options minus any
// old $skiptoken, and the new $skiptoken.
func nextLink(r *http.Request, token string) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	var parts []string
	for _, part := range strings.Split(r.URL.RawQuery, "&") {
		if part == "" {
			continue
		}
		name, _, _ := strings.Cut(part, "=")
		if decoded, err := url.QueryUnescape(name); err == nil && strings.EqualFold(decoded, "$skiptoken") {
			continue
		}
		parts = append(parts, part)
	}
	parts = append(parts, "$skiptoken="+token)
	return scheme + "://" + r.Host + r.URL.EscapedPath() + "?" + strings.Join(parts, "&")
}
