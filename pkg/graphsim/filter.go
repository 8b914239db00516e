package graphsim

import (
	"fmt"
	"net/http"
	"strings"
	"unicode"
)

// A $filter expression is parsed into a small tree, checked against what
// Graph supports for users (by default or only in advanced queries), then
// evaluated against each user.
//
// Supported: eq, ne, in, and, or, not, parentheses, startsWith, endsWith;
// string literals in single quotes with '' as an escaped quote; true, false,
// null, integers. Keywords, function names and property names are matched
// case-insensitively, and string comparisons ignore case, as Graph's
// directory does.

type filterNode interface{ isFilterNode() }

type logicNode struct {
	and         bool
	left, right filterNode
}

type notNode struct{ x filterNode }

// compareNode is "prop op value" or "prop in (values)".
type compareNode struct {
	name   string // as written
	prop   *propDef
	op     string // eq, ne, gt, ge, lt, le, in
	values []literal
}

// funcNode is startsWith(prop, 'x') and friends.
type funcNode struct {
	fn   string // lower-cased function name
	name string
	prop *propDef
	arg  literal
}

func (*logicNode) isFilterNode()   {}
func (*notNode) isFilterNode()     {}
func (*compareNode) isFilterNode() {}
func (*funcNode) isFilterNode()    {}

type litKind int

const (
	litString litKind = iota
	litBool
	litNull
	litInt
)

type literal struct {
	kind litKind
	text string // string value, or the literal as written
	b    bool
}

func (l literal) edmType() string {
	switch l.kind {
	case litBool:
		return "Edm.Boolean"
	case litInt:
		return "Edm.Int32"
	default:
		return "Edm.String"
	}
}

// --- tokens ---

type tokKind int

const (
	tokEOF tokKind = iota
	tokWord
	tokString
	tokOpen
	tokClose
	tokComma
)

type token struct {
	kind tokKind
	text string
}

func tokenize(s string) ([]token, error) {
	var toks []token
	rs := []rune(s)
	for i := 0; i < len(rs); {
		r := rs[i]
		switch {
		case unicode.IsSpace(r):
			i++
		case r == '(':
			toks = append(toks, token{tokOpen, "("})
			i++
		case r == ')':
			toks = append(toks, token{tokClose, ")"})
			i++
		case r == ',':
			toks = append(toks, token{tokComma, ","})
			i++
		case r == '\'':
			var b strings.Builder
			start := i
			i++
			closed := false
			for i < len(rs) {
				if rs[i] == '\'' {
					if i+1 < len(rs) && rs[i+1] == '\'' { // OData: '' is a quote
						b.WriteRune('\'')
						i += 2
						continue
					}
					i++
					closed = true
					break
				}
				b.WriteRune(rs[i])
				i++
			}
			if !closed {
				return nil, fmt.Errorf("unterminated string literal starting at position %d", start)
			}
			toks = append(toks, token{tokString, b.String()})
		case isWordRune(r):
			start := i
			for i < len(rs) && isWordRune(rs[i]) {
				i++
			}
			toks = append(toks, token{tokWord, string(rs[start:i])})
		default:
			return nil, fmt.Errorf("syntax error: character '%c' is not valid at position %d", r, i)
		}
	}
	return append(toks, token{kind: tokEOF}), nil
}

func isWordRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("_.-/:$@", r)
}

// --- parser ---

type filterParser struct {
	toks []token
	pos  int
}

func (p *filterParser) peek() token { return p.toks[p.pos] }
func (p *filterParser) next() token { t := p.toks[p.pos]; p.pos++; return t }

func (p *filterParser) peekWord(words ...string) bool {
	t := p.peek()
	if t.kind != tokWord {
		return false
	}
	for _, w := range words {
		if strings.EqualFold(t.text, w) {
			return true
		}
	}
	return false
}

// parseFilter parses a $filter value. Syntax errors are reported the way
// Graph's OData layer reports them: 400 BadRequest "Invalid filter clause".
func parseFilter(expr string) (filterNode, *graphError) {
	toks, err := tokenize(expr)
	if err != nil {
		return nil, errFilterSyntax(err.Error())
	}
	p := &filterParser{toks: toks}
	node, gerr := p.parseOr()
	if gerr != nil {
		return nil, gerr
	}
	if t := p.peek(); t.kind != tokEOF {
		return nil, errFilterSyntax(fmt.Sprintf("syntax error at '%s'", t.text))
	}
	return node, nil
}

func errFilterSyntax(reason string) *graphError {
	return newError(http.StatusBadRequest, codeBadRequest, "Invalid filter clause: "+reason)
}

func (p *filterParser) parseOr() (filterNode, *graphError) {
	left, err := p.parseAnd()
	for err == nil && p.peekWord("or") {
		p.next()
		var right filterNode
		if right, err = p.parseAnd(); err == nil {
			left = &logicNode{left: left, right: right}
		}
	}
	return left, err
}

func (p *filterParser) parseAnd() (filterNode, *graphError) {
	left, err := p.parseUnary()
	for err == nil && p.peekWord("and") {
		p.next()
		var right filterNode
		if right, err = p.parseUnary(); err == nil {
			left = &logicNode{and: true, left: left, right: right}
		}
	}
	return left, err
}

func (p *filterParser) parseUnary() (filterNode, *graphError) {
	if p.peekWord("not") {
		p.next()
		x, err := p.parseUnary()
		if err != nil {
			return nil, err
		}
		return &notNode{x: x}, nil
	}
	return p.parsePrimary()
}

func (p *filterParser) parsePrimary() (filterNode, *graphError) {
	t := p.next()
	switch t.kind {
	case tokOpen:
		node, err := p.parseOr()
		if err != nil {
			return nil, err
		}
		if p.next().kind != tokClose {
			return nil, errFilterSyntax("')' expected")
		}
		return node, nil
	case tokWord:
	default:
		return nil, errFilterSyntax(fmt.Sprintf("expression expected at '%s'", t.text))
	}
	if p.peek().kind == tokOpen {
		if strings.Contains(t.text, "/") {
			return nil, errNotEmulated("lambda operators in $filter")
		}
		return p.parseFunc(t.text)
	}
	op := strings.ToLower(p.next().text)
	switch op {
	case "eq", "ne", "gt", "ge", "lt", "le":
		v, err := p.parseLiteral()
		if err != nil {
			return nil, err
		}
		return &compareNode{name: t.text, op: op, values: []literal{v}}, nil
	case "in":
		if p.next().kind != tokOpen {
			return nil, errFilterSyntax("'(' expected after 'in'")
		}
		node := &compareNode{name: t.text, op: op}
		for {
			v, err := p.parseLiteral()
			if err != nil {
				return nil, err
			}
			node.values = append(node.values, v)
			if sep := p.next(); sep.kind == tokClose {
				return node, nil
			} else if sep.kind != tokComma {
				return nil, errFilterSyntax("',' or ')' expected in 'in' list")
			}
		}
	default:
		return nil, errFilterSyntax(fmt.Sprintf("operator expected after '%s'", t.text))
	}
}

func (p *filterParser) parseFunc(name string) (filterNode, *graphError) {
	p.next() // (
	prop := p.next()
	if prop.kind != tokWord || p.next().kind != tokComma {
		return nil, errFilterSyntax(fmt.Sprintf("function '%s' expects (property, value)", name))
	}
	arg, err := p.parseLiteral()
	if err != nil {
		return nil, err
	}
	if p.next().kind != tokClose {
		return nil, errFilterSyntax("')' expected")
	}
	fn := strings.ToLower(name)
	switch fn {
	case "startswith", "endswith", "contains":
		return &funcNode{fn: fn, name: prop.text, arg: arg}, nil
	default:
		return nil, errFilterSyntax(fmt.Sprintf("unknown function '%s'", name))
	}
}

func (p *filterParser) parseLiteral() (literal, *graphError) {
	t := p.next()
	switch t.kind {
	case tokString:
		return literal{kind: litString, text: t.text}, nil
	case tokWord:
		switch strings.ToLower(t.text) {
		case "true", "false":
			return literal{kind: litBool, text: t.text, b: strings.EqualFold(t.text, "true")}, nil
		case "null":
			return literal{kind: litNull, text: t.text}, nil
		}
		if isInteger(t.text) {
			return literal{kind: litInt, text: t.text}, nil
		}
	}
	return literal{}, errFilterSyntax(fmt.Sprintf("literal expected at '%s'", t.text))
}

func isInteger(s string) bool {
	s = strings.TrimPrefix(s, "-")
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// --- checks ---

// msgEndsWithNeedsAdvanced is Graph's documented answer to endsWith without
// the advanced query parameters (Graph docs, "Advanced query capabilities on
// Microsoft Entra ID objects", error handling).
const msgEndsWithNeedsAdvanced = "Operator 'endsWith' is not supported because the required parameters might be missing. Try adding $count=true query parameter and ConsistencyLevel:eventual header. Refer to https://aka.ms/graph-docs/advanced-queries for more information"

// checkFilter resolves property names and rejects what Graph rejects.
// GRAPH.md and Graph docs, "Advanced query capabilities": ne, not, endsWith,
// eq null and some properties (companyName) need ConsistencyLevel: eventual
// plus $count=true; without them Graph answers 400 Request_UnsupportedQuery.
func (sc *schema) checkFilter(n filterNode, advanced, negated bool) *graphError {
	switch n := n.(type) {
	case *logicNode:
		if err := sc.checkFilter(n.left, advanced, negated); err != nil {
			return err
		}
		return sc.checkFilter(n.right, advanced, negated)
	case *notNode:
		return sc.checkFilter(n.x, advanced, !negated)
	case *compareNode:
		return sc.checkCompare(n, advanced, negated)
	case *funcNode:
		return sc.checkFunc(n, advanced, negated)
	}
	return nil
}

func (sc *schema) checkCompare(n *compareNode, advanced, negated bool) *graphError {
	var err *graphError
	if n.prop, err = sc.lookupPath(n.name); err != nil {
		return err
	}
	hasNull := false
	for _, v := range n.values {
		if v.kind == litNull {
			hasNull = true
			continue
		}
		if err := checkOperandTypes(n.prop, v, n.op); err != nil {
			return err
		}
	}
	switch {
	case n.prop.eq == unsupported, n.op != "eq" && n.op != "ne" && n.op != "in":
		return sc.errUnsupportedFilter(n.prop.name)
	case advanced:
		return nil
	case n.prop.eq == advancedOnly, n.op == "ne", negated, hasNull:
		return sc.errUnsupportedFilter(n.prop.name)
	}
	return nil
}

func (sc *schema) checkFunc(n *funcNode, advanced, negated bool) *graphError {
	var err *graphError
	if n.prop, err = sc.lookupPath(n.name); err != nil {
		return err
	}
	if n.arg.kind != litString || n.prop.kind != kindString {
		return newError(http.StatusBadRequest, codeBadRequest,
			fmt.Sprintf("Invalid filter clause: function '%s' needs a string property and a string value.", n.fn))
	}
	level := unsupported
	switch n.fn {
	case "startswith":
		level = n.prop.startsWith
	case "endswith":
		level = n.prop.endsWith
		if level != unsupported && !advanced {
			return newError(http.StatusBadRequest, codeUnsupportedQuery, msgEndsWithNeedsAdvanced)
		}
	}
	if level == unsupported || (!advanced && (level == advancedOnly || negated)) {
		return sc.errUnsupportedFilter(n.prop.name)
	}
	return nil
}

// checkOperandTypes reproduces the OData type check on comparisons, e.g.
// "A binary operator with incompatible types was detected. Found operand
// types 'Edm.Boolean' and 'Edm.String' for operator kind 'Equal'."
func checkOperandTypes(p *propDef, v literal, op string) *graphError {
	want := "Edm.String"
	if p.kind == kindBool {
		want = "Edm.Boolean"
	}
	if p.kind != kindString && p.kind != kindBool {
		return nil // not filterable; reported by the caller
	}
	if v.edmType() == want {
		return nil
	}
	kinds := map[string]string{"eq": "Equal", "ne": "NotEqual", "gt": "GreaterThan", "ge": "GreaterThanOrEqual", "lt": "LessThan", "le": "LessThanOrEqual", "in": "In"}
	return newError(http.StatusBadRequest, codeBadRequest, fmt.Sprintf(
		"A binary operator with incompatible types was detected. Found operand types '%s' and '%s' for operator kind '%s'.",
		p.kind.edmType(), v.edmType(), kinds[op]))
}

// --- evaluation ---

func matchFilter(n filterNode, u *userRecord) bool {
	return matchValues(n, u.value)
}

// matchValues evaluates n against an object whose values value returns.
func matchValues(n filterNode, value func(*propDef) any) bool {
	switch n := n.(type) {
	case nil:
		return true
	case *logicNode:
		if n.and {
			return matchValues(n.left, value) && matchValues(n.right, value)
		}
		return matchValues(n.left, value) || matchValues(n.right, value)
	case *notNode:
		return !matchValues(n.x, value)
	case *compareNode:
		v := value(n.prop)
		eq := false
		for _, lit := range n.values {
			if equalsLiteral(v, lit) {
				eq = true
				break
			}
		}
		if n.op == "ne" {
			return !eq
		}
		return eq
	case *funcNode:
		s, ok := value(n.prop).(string)
		if !ok {
			return false
		}
		s, arg := strings.ToLower(s), strings.ToLower(n.arg.text)
		switch n.fn {
		case "startswith":
			return strings.HasPrefix(s, arg)
		case "endswith":
			return strings.HasSuffix(s, arg)
		}
	}
	return false
}

func equalsLiteral(v any, lit literal) bool {
	switch lit.kind {
	case litNull:
		return v == nil || v == ""
	case litBool:
		b, ok := v.(bool)
		return ok && b == lit.b
	case litString:
		s, ok := v.(string)
		return ok && strings.EqualFold(s, lit.text)
	}
	return false
}
