package mapping

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/guestsync/guestsync/pkg/guest"
	"github.com/guestsync/guestsync/pkg/yamlfile"
)

// Mapping is a compiled mapping file, ready to map many entries.
type Mapping struct {
	Name string
	File string
	// Mode is how guests are created: ModeCreate or ModeInvite.
	Mode string
	// ModeLine is the line of the file's mode: key, 0 when the file
	// leaves the mode to its default, for problems that the mode causes
	// elsewhere (a setting that invite mode needs).
	ModeLine int
	anchor   []string
	scope    []group
	flows    []flow
	required []string
	tests    []testCase
}

// The two ways to create a guest.
const (
	// ModeCreate creates an internal guest with POST /users: a UPN in a
	// verified domain of the tenant and a generated password.
	ModeCreate = "create"
	// ModeInvite invites the guest with POST /invitations to the mapped
	// mail address; Graph assigns the UPN (alias_domain#EXT#@tenant).
	ModeInvite = "invite"
)

// defaultAnchor is Entra Connect's source anchor rule: ms-DS-ConsistencyGuid
// when it is set, else objectGUID.
var defaultAnchor = []string{"ms-DS-ConsistencyGuid", "objectGUID"}

// Load reads and compiles a mapping file of at most yamlfile.MaxFileSize
// bytes. The error, if any, is a yamlfile.Problems listing every problem
// with file:line:col.
func Load(path string) (*Mapping, error) {
	data, err := yamlfile.ReadFile(path)
	if err != nil {
		return nil, yamlfile.AsProblems(path, err)
	}
	return Parse(path, data)
}

// Parse compiles a mapping from YAML. name is the file name used in
// problems.
func Parse(name string, data []byte) (*Mapping, error) {
	var f file
	doc, ps := yamlfile.Decode(name, data, &f)
	if doc == nil {
		return nil, ps.Err()
	}
	c := compiler{file: name, doc: doc, lines: strings.Split(string(data), "\n")}
	m := c.compile(f)
	ps = append(ps, c.problems...)
	if err := ps.Err(); err != nil {
		return nil, err
	}
	return m, nil
}

type compiler struct {
	file     string
	doc      *yaml.Node
	lines    []string
	problems yamlfile.Problems
}

// problem records a problem at the node found by following path (keys and
// sequence indexes) from the document root; it falls back to the nearest
// node that exists.
func (c *compiler) problem(path []any, format string, args ...any) {
	n := c.doc
	var keys []string
	for _, step := range path {
		next := child(n, step)
		if next == nil {
			break
		}
		n = next
		switch s := step.(type) {
		case string:
			keys = append(keys, s)
		case int:
			if len(keys) > 0 {
				keys[len(keys)-1] += fmt.Sprintf("[%d]", s)
			}
		}
	}
	c.problems = append(c.problems, yamlfile.At(c.file, n, strings.Join(keys, "."), format, args...))
}

// child returns the value node under key (string) or index (int).
func child(n *yaml.Node, step any) *yaml.Node {
	if n == nil {
		return nil
	}
	switch s := step.(type) {
	case string:
		if n.Kind != yaml.MappingNode {
			return nil
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == s {
				return n.Content[i+1]
			}
		}
	case int:
		if n.Kind == yaml.SequenceNode && s < len(n.Content) {
			return n.Content[s]
		}
	}
	return nil
}

func (c *compiler) compile(f file) *Mapping {
	m := &Mapping{Name: f.Name, File: c.file, anchor: f.Anchor.Attributes}
	switch {
	case f.Version == 0:
		c.problem([]any{"version"}, "missing `version: %d` at the top of the file", FormatVersion)
	case f.Version != FormatVersion:
		c.problem([]any{"version"}, "unsupported version %d (this build reads version %d)", f.Version, FormatVersion)
	}
	if len(m.anchor) == 0 {
		m.anchor = defaultAnchor
	}
	if n := child(c.doc, "mode"); n != nil {
		m.ModeLine = n.Line
	}
	switch f.Mode {
	case "", ModeCreate:
		m.Mode = ModeCreate
		for _, p := range guest.Properties() {
			if p.RequiredOnCreate {
				m.required = append(m.required, p.Name)
			}
		}
	case ModeInvite:
		m.Mode = ModeInvite
		// POST /invitations requires invitedUserEmailAddress: the mail.
		m.required = []string{"mail"}
	default:
		c.problem([]any{"mode"}, "mode must be %s or %s, not %q", ModeCreate, ModeInvite, f.Mode)
	}
	for i, a := range f.Anchor.Attributes {
		if strings.TrimSpace(a) == "" {
			c.problem([]any{"anchor", "attributes", i}, "empty attribute name")
		}
	}
	for gi, g := range f.Scope {
		cg := group{name: g.Name}
		if len(g.Clauses) == 0 {
			c.problem([]any{"scope", gi}, "a scoping filter needs at least one clause")
		}
		for ci, cl := range g.Clauses {
			at := []any{"scope", gi, "clauses", ci}
			if cl.Attribute == "" {
				c.problem(at, "clause needs an attribute")
			}
			def, known := lookupOperator(cl.Operator)
			if !known {
				c.problem(append(at, "operator"), "unknown scoping operator %q%s", cl.Operator, suggestOperator(cl.Operator))
				continue
			}
			text := fmt.Sprintf("%s %s", cl.Attribute, def.name)
			if def.needsValue {
				text += fmt.Sprintf(" %q", cl.Value)
			} else if cl.Value != "" {
				c.problem(append(at, "value"), "%s takes no value", def.name)
			}
			var op operator
			if def.build != nil {
				var err error
				if op, err = def.build(cl.Value); err != nil {
					c.problem(append(at, "value"), "%s: %v", def.name, err)
					continue
				}
			}
			cg.clauses = append(cg.clauses, clause{attribute: cl.Attribute, text: text, isNull: def.build == nil, eval: op})
		}
		m.scope = append(m.scope, cg)
	}
	seen := map[string]int{}
	for i, ff := range f.Flows {
		fl, ok := c.compileFlow(i, ff)
		if j, dup := seen[ff.Target]; dup && ff.Target != "" {
			c.problem([]any{"flows", i, "target"}, "%s is already the target of flows[%d]", ff.Target, j)
			continue
		}
		// A flow that failed to compile still counts as producing its
		// target, so one mistake is reported once.
		seen[ff.Target] = i
		if ok {
			m.flows = append(m.flows, fl)
		}
	}
	for _, name := range m.required {
		if _, ok := seen[name]; !ok {
			what := "Graph requires to create a user"
			if m.Mode == ModeInvite {
				what = "an invitation is sent to"
			}
			c.problem([]any{"flows"}, "no flow produces %s, which %s", name, what)
		}
	}
	if m.Mode == ModeInvite {
		for _, name := range []string{"userPrincipalName", "mailNickname"} {
			if i, ok := seen[name]; ok {
				c.problem([]any{"flows", i, "target"}, "in invite mode Graph assigns %s to the invited guest; remove this flow", name)
			}
		}
	}
	m.tests = c.compileTests(f.Tests)
	return m
}

func (c *compiler) compileFlow(i int, ff fileFlow) (flow, bool) {
	at := func(k string) []any { return []any{"flows", i, k} }
	fl := flow{target: ff.Target, createOnly: false, defaultIfNull: ff.DefaultIfNull}
	ok := true
	switch ff.Target {
	case "":
		c.problem([]any{"flows", i}, "flow needs a target Graph user property")
		ok = false
	case "userType":
		if ff.Type != "constant" || ff.Value == nil || *ff.Value != "Guest" {
			c.problem(at("target"), "userType is always Guest: guestsync only manages guest users; remove this flow")
		}
		return flow{}, false // guestsync sets userType itself; nothing to map
	case "onPremisesImmutableId":
		c.problem(at("target"), "onPremisesImmutableId is set from the anchor; use `anchor.attributes` instead of a flow")
		ok = false
	case "passwordProfile", "password":
		c.problem(at("target"), "passwords are generated by guestsync and never mapped")
		ok = false
	default:
		p, known := guest.LookupProperty(ff.Target)
		if !known {
			c.problem(at("target"), "%q is not a writable Graph user property guestsync manages%s", ff.Target, suggestProperty(ff.Target))
			ok = false
		}
		fl.property = p
	}
	switch ff.Apply {
	case "", "always":
	case "create":
		fl.createOnly = true
	default:
		c.problem(at("apply"), "apply must be `always` or `create`, not %q", ff.Apply)
		ok = false
	}
	switch ff.Type {
	case "direct":
		if ff.Source == "" {
			c.problem(at("type"), "a direct flow needs `source`: the attribute to copy")
			ok = false
		}
		c.unused(i, ff, "value", "expression")
		fl.eval = directValue(ff.Source)
	case "constant":
		if ff.Value == nil {
			c.problem(at("type"), "a constant flow needs `value`")
			ok = false
		} else {
			fl.eval = constantValue(*ff.Value)
		}
		c.unused(i, ff, "source", "expression")
	case "expression":
		if strings.TrimSpace(ff.Expression) == "" {
			c.problem(at("type"), "an expression flow needs `expression`")
			ok = false
			break
		}
		c.unused(i, ff, "source", "value")
		x, ev, good := c.compileExpression(i, ff.Expression)
		fl.eval = ev
		ok = ok && good
		if x != nil {
			fl.unique, fl.redact = x.UsesSelectUniqueValue(), x.Redacts()
		}
	case "":
		c.problem([]any{"flows", i}, "flow needs a type: direct, constant or expression")
		ok = false
	default:
		c.problem(at("type"), "unknown flow type %q: use direct, constant or expression", ff.Type)
		ok = false
	}
	return fl, ok
}

// unused reports keys that do not belong to the flow's type, which are
// almost always a mistake (a flow with both source and value).
func (c *compiler) unused(i int, ff fileFlow, keys ...string) {
	for _, k := range keys {
		set := (k == "source" && ff.Source != "") || (k == "value" && ff.Value != nil) || (k == "expression" && ff.Expression != "")
		if set {
			c.problem([]any{"flows", i, k}, "`%s` has no meaning in a %s flow", k, ff.Type)
		}
	}
}

func suggestProperty(name string) string {
	best, bestD := "", 1<<30
	for _, p := range guest.Properties() {
		if d := yamlfile.Distance(strings.ToLower(name), strings.ToLower(p.Name)); d < bestD {
			best, bestD = p.Name, d
		}
	}
	if bestD <= 3 {
		return fmt.Sprintf("; did you mean %q?", best)
	}
	return ""
}

func suggestOperator(name string) string {
	best, bestD := "", 1<<30
	for _, op := range OperatorNames() {
		if d := yamlfile.Distance(operatorKey(name), operatorKey(op)); d < bestD {
			best, bestD = op, d
		}
	}
	if bestD <= 2 {
		return fmt.Sprintf("; did you mean %q?", best)
	}
	return "; use one of " + strings.Join(OperatorNames(), ", ")
}
