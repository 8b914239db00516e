package mapping

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/guestsync/guestsync/pkg/schema"
	"github.com/guestsync/guestsync/pkg/yamlfile"
)

// Mapping is a compiled mapping file, ready to map many entries.
type Mapping struct {
	Name string
	File string
	// Target is the kind of target the mapping writes: TargetGraph or
	// TargetAD.
	Target string
	// Mode is how guests are created: ModeCreate or ModeInvite. Only the
	// graph target has a choice; for the others it is ModeCreate.
	Mode string
	// ModeLine is the line of the file's mode: key, 0 when the file
	// leaves the mode to its default, for problems that the mode causes
	// elsewhere (a setting that invite mode needs).
	ModeLine int
	// table is the target's properties, which the flows write.
	table        *schema.Table
	anchor       []string
	anchorFormat string
	scope        []group
	flows        []flow
	required     []string
	tests        []testCase
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

// The kinds of target a mapping may write, as pkg/schema names their
// tables.
const (
	// TargetGraph: Entra ID guest users through Microsoft Graph.
	TargetGraph = "graph"
	// TargetAD: Active Directory user objects, the shadow accounts of the
	// tenant's guests.
	TargetAD = "ad"
)

// The forms an anchor takes.
const (
	// AnchorGUID is Entra Connect's: base64 of the 16 bytes of a binary
	// GUID (objectGUID, ms-DS-ConsistencyGuid) or of a UUID string
	// (entryUUID), as onPremisesImmutableId holds it.
	AnchorGUID = "guid"
	// AnchorText is the attribute's value as it is, such as a Graph
	// user's id, which anchors a shadow account.
	AnchorText = "text"
)

// defaultAnchor is each target's anchor when the file gives none. For
// graph it is Entra Connect's source anchor rule: ms-DS-ConsistencyGuid
// when it is set, else objectGUID. A shadow account is anchored on its
// guest's Graph object id.
var defaultAnchor = map[string]fileAnchor{
	TargetGraph: {Attributes: []string{"ms-DS-ConsistencyGuid", "objectGUID"}, Format: AnchorGUID},
	TargetAD:    {Attributes: []string{"id"}, Format: AnchorText},
}

// createNeeds says, per target, who needs a required property, for the
// message about a mapping that produces none.
var createNeeds = map[string]string{
	TargetGraph: "Graph requires to create a user",
	TargetAD:    "a shadow account needs to be created",
}

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
	m := &Mapping{Name: f.Name, File: c.file, anchor: f.Anchor.Attributes, anchorFormat: f.Anchor.Format}
	switch {
	case f.Version == 0:
		c.problem([]any{"version"}, "missing `version: %d` at the top of the file", FormatVersion)
	case f.Version != FormatVersion:
		c.problem([]any{"version"}, "unsupported version %d (this build reads version %d)", f.Version, FormatVersion)
	}
	m.Target = f.Target
	if m.Target == "" {
		m.Target = TargetGraph
	}
	if t, ok := schema.ForKind(m.Target); ok {
		m.table = t
	} else {
		// The flows are not checked: against which table would they be?
		c.problem([]any{"target"}, "target must be %s, not %q", strings.Join(schema.Kinds(), " or "), f.Target)
	}
	def := defaultAnchor[m.Target]
	if len(m.anchor) == 0 {
		m.anchor = def.Attributes
	}
	switch m.anchorFormat {
	case "":
		m.anchorFormat = def.Format
		if m.anchorFormat == "" {
			m.anchorFormat = AnchorGUID
		}
	case AnchorGUID, AnchorText:
	default:
		c.problem([]any{"anchor", "format"}, "anchor format must be %s or %s, not %q", AnchorGUID, AnchorText, f.Anchor.Format)
	}
	if n := child(c.doc, "mode"); n != nil {
		m.ModeLine = n.Line
	}
	switch {
	case m.Target != TargetGraph:
		m.Mode = ModeCreate
		if f.Mode != "" {
			c.problem([]any{"mode"}, "mode says how Graph guests are created; a mapping with target %s has none", m.Target)
		}
		if m.table != nil {
			m.required = m.table.Required()
		}
	case f.Mode == "" || f.Mode == ModeCreate:
		m.Mode = ModeCreate
		m.required = m.table.Required()
	case f.Mode == ModeInvite:
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
		fl, ok := c.compileFlow(m.table, i, ff)
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
			what := createNeeds[m.Target]
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
	m.tests = c.compileTests(m.table, f.Tests)
	return m
}

// compileFlow compiles one flow; table is nil when the mapping's target is
// unknown, and then the flow's target is not checked.
func (c *compiler) compileFlow(table *schema.Table, i int, ff fileFlow) (flow, bool) {
	at := func(k string) []any { return []any{"flows", i, k} }
	fl := flow{target: ff.Target, createOnly: false, defaultIfNull: ff.DefaultIfNull}
	ok := true
	switch {
	case ff.Target == "":
		what := "property"
		if table != nil {
			what = table.What
		}
		c.problem([]any{"flows", i}, "flow needs a target %s", what)
		ok = false
	case table == nil:
	case table.Kind == TargetGraph && ff.Target == "userType":
		if ff.Type != "constant" || ff.Value == nil || *ff.Value != "Guest" {
			c.problem(at("target"), "userType is always Guest: guestsync only manages guest users; remove this flow")
		}
		return flow{}, false // guestsync sets userType itself; nothing to map
	case table.Kind == TargetGraph:
		ok = c.graphFlow(table, i, ff, &fl)
	case table.Kind == TargetAD:
		ok = c.adFlow(table, i, ff, &fl)
	}
	return c.compileValue(i, ff, fl, ok)
}

// graphFlow checks a flow's target against the Graph table.
func (c *compiler) graphFlow(table *schema.Table, i int, ff fileFlow, fl *flow) bool {
	at := []any{"flows", i, "target"}
	switch ff.Target {
	case "onPremisesImmutableId":
		c.problem(at, "onPremisesImmutableId is set from the anchor; use `anchor.attributes` instead of a flow")
		return false
	case "passwordProfile", "password":
		c.problem(at, "passwords are generated by guestsync and never mapped")
		return false
	}
	return c.knownTarget(table, i, ff, fl)
}

// adFlow checks a flow's target against the AD table.
func (c *compiler) adFlow(table *schema.Table, i int, ff fileFlow, fl *flow) bool {
	at := []any{"flows", i, "target"}
	switch strings.ToLower(ff.Target) {
	case "unicodepwd", "userpassword", "password":
		c.problem(at, "passwords are generated by guestsync and never mapped")
		return false
	case "useraccountcontrol":
		c.problem(at, "userAccountControl is set by the target; map `enabled` (true or false) for its ACCOUNTDISABLE bit")
		return false
	case "admindescription":
		c.problem(at, "adminDescription is where the target writes guestsync's ownership mark and the anchor (by default); use `anchor.attributes` instead of a flow")
		return false
	}
	return c.knownTarget(table, i, ff, fl)
}

// knownTarget looks the flow's target up in the table.
func (c *compiler) knownTarget(table *schema.Table, i int, ff fileFlow, fl *flow) bool {
	p, known := table.Lookup(ff.Target)
	if !known {
		c.problem([]any{"flows", i, "target"}, "%q is not a writable %s guestsync manages%s", ff.Target, table.What, suggestProperty(table, ff.Target))
		return false
	}
	fl.property = p
	return true
}

// compileValue compiles how the flow gets its value.
func (c *compiler) compileValue(i int, ff fileFlow, fl flow, ok bool) (flow, bool) {
	at := func(k string) []any { return []any{"flows", i, k} }
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
		fl.reads = []string{ff.Source}
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
			fl.reads = x.Attributes()
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

func suggestProperty(table *schema.Table, name string) string {
	best, bestD := "", 1<<30
	for _, p := range table.Properties() {
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
