package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/guestsync/guestsync/pkg/source"
	graphclient "github.com/guestsync/guestsync/pkg/target/graph"
)

// pageSize is Graph's largest page of directory objects ($top 1 to 999).
const pageSize = 999

// user is one user as Graph sent it.
type user struct {
	id     string
	fields map[string]json.RawMessage
}

// newUser reads a user of a page; an object without an id is an error.
func newUser(fields map[string]json.RawMessage) (user, error) {
	var id string
	if err := json.Unmarshal(fields["id"], &id); err != nil || id == "" {
		return user{}, fmt.Errorf("a user without an id (with %d properties)", len(fields))
	}
	return user{id: strings.ToLower(id), fields: fields}, nil
}

func (u user) removed() bool {
	_, ok := u.fields["@removed"]
	return ok
}

// text returns a property as text and whether it has a value.
func (u user) text(name string) (string, bool) {
	v, ok := u.fields[name]
	if !ok {
		return "", false
	}
	vals := values(v)
	if len(vals) == 0 {
		return "", false
	}
	return vals[0], true
}

// guest: userType Guest. Graph spells it so; the comparison ignores case
// as Graph's $filter does.
func (u user) guest() bool {
	t, _ := u.text("userType")
	return strings.EqualFold(t, "Guest")
}

// enabled: accountEnabled true. A user whose accountEnabled did not come
// (not readable) is not taken for enabled.
func (u user) enabled() bool {
	e, _ := u.text("accountEnabled")
	return e == "true"
}

// entry is the user as a source entry: DN its id, attributes its
// properties with a value. Deleted is left to the caller.
func (u user) entry() source.Entry {
	e := source.Entry{DN: u.id, Attributes: make(map[string][]string, len(u.fields))}
	for name, v := range u.fields {
		if strings.Contains(name, "@") { // an annotation (@odata.type, @removed, ...)
			continue
		}
		if len(v) > 0 && v[0] == '{' {
			var obj map[string]json.RawMessage
			if json.Unmarshal(v, &obj) == nil {
				for k, sub := range obj {
					if vals := values(sub); len(vals) > 0 && !strings.Contains(k, "@") {
						e.Attributes[name+"."+k] = vals
					}
				}
			}
			continue
		}
		if vals := values(v); len(vals) > 0 {
			e.Attributes[name] = vals
		}
	}
	e.Attributes["id"] = []string{u.id}
	return e
}

// gone is the entry reporting u as absent: its id and what is known of it.
func gone(id string, known *user) source.Entry {
	e := source.Entry{DN: id, Attributes: map[string][]string{}}
	if known != nil && !known.removed() {
		e = known.entry()
	}
	e.Attributes["id"] = []string{id}
	e.Deleted = true
	return e
}

// values reads a JSON value as text values: a string, a number or a
// boolean as one value, an array of those as one value each, null (and
// anything else) as none.
func values(v json.RawMessage) []string {
	v = bytes.TrimSpace(v)
	if len(v) == 0 || bytes.Equal(v, []byte("null")) {
		return nil
	}
	switch v[0] {
	case '"':
		var s string
		if json.Unmarshal(v, &s) != nil {
			return nil
		}
		return []string{s}
	case '[':
		var items []json.RawMessage
		if json.Unmarshal(v, &items) != nil {
			return nil
		}
		var out []string
		for _, it := range items {
			if len(it) > 0 && (it[0] == '[' || it[0] == '{') {
				continue
			}
			out = append(out, values(it)...)
		}
		return out
	case '{':
		return nil
	}
	return []string{string(v)} // true, false, a number
}

// selectQuery is the query of a read of users: $select of the reader's
// properties, plus extra (already encoded) parts.
func (r *Reader) selectQuery(extra ...string) string {
	q := url.Values{}
	q.Set("$select", strings.Join(r.props, ","))
	return strings.Join(append([]string{strings.ReplaceAll(q.Encode(), "+", "%20")}, extra...), "&")
}

// collection is a read of a Graph collection.
type collection struct {
	link string // the first page's absolute URL
	opts graphclient.PageOptions
	// delta: a delta round, which must end with @odata.deltaLink.
	delta bool
	// what names the collection in errors; permission lists the
	// application permissions it needs, named when Graph answers 403.
	what       string
	permission []string
}

// readPages GETs c's pages, handing each object to fn, and returns the
// round's @odata.deltaLink ("" for a plain collection).
func (r *Reader) readPages(ctx context.Context, c collection, fn func(map[string]json.RawMessage) error) (string, error) {
	link, what := c.link, c.what
	for pages := 1; ; pages++ {
		page, err := r.client.GetPage(ctx, link, c.opts)
		if err != nil {
			return "", pageError(err, what, pages, c.permission)
		}
		for _, obj := range page.Value {
			if err := fn(obj); err != nil {
				return "", err
			}
		}
		switch {
		case page.NextLink != "":
			link = page.NextLink
		case page.DeltaLink != "" || !c.delta:
			return page.DeltaLink, nil
		default:
			return "", fmt.Errorf("%s: page %d has neither @odata.nextLink nor @odata.deltaLink", what, pages)
		}
	}
}

// pageError says which read failed, and which permissions a 403 lacks.
func pageError(err error, what string, page int, permission []string) error {
	if f := graphclient.FailureOf(err); f != nil && f.Status == http.StatusForbidden && len(permission) > 0 {
		return fmt.Errorf("%s (page %d): %w; %s", what, page, err, grant(permission))
	}
	return fmt.Errorf("%s (page %d): %w", what, page, err)
}

// grant says what to do about a 403.
func grant(permissions []string) string {
	what := "the " + permissions[0] + " permission"
	if len(permissions) > 1 {
		what = "the " + strings.Join(permissions, " and ") + " permissions"
	}
	return "Graph refused the request: grant the application " + what + " (application permissions, with admin consent)"
}

// sortedKeys returns the keys of a set, sorted.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
