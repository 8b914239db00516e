package expr

import (
	"strconv"
	"strings"
)

// node is one compiled piece of an expression. Nodes are immutable after
// Compile, so one *Expr may be evaluated from many goroutines.
type node interface {
	pos() Pos
	eval(x evalCtx) (Value, error)
	format(b *strings.Builder)
}

// attrRef is [name].
type attrRef struct {
	p    Pos
	name string
}

// strLit is "text".
type strLit struct {
	p Pos
	v Value
}

// intLit is 12, -3 or &HF7.
type intLit struct {
	p   Pos
	v   Value
	hex bool
}

// wordLit is a bare word: True, False, Null, or an enumeration constant
// such as vbTextCompare, which evaluates to its name.
type wordLit struct {
	p    Pos
	name string // canonical spelling
	v    Value
}

// omitted is an empty positional argument, as in Replace([x], , "re", ...).
// It evaluates to Null; functions whose behaviour depends on which
// arguments were given test for it with isOmitted.
type omitted struct {
	p Pos
}

// compare is left op right, with op one of = <> < <= > >=.
type compare struct {
	p           Pos // of the operator
	op          tokenKind
	left, right node
}

// concat is a & b & c (VB string concatenation), evaluated from the left.
// A chain is one node, not a nest of pairs, so that a long chain costs no
// recursion: the depth of the tree is bounded by the nesting of calls.
type concat struct {
	p     Pos    // of the last operator
	parts []node // at least two
	ops   []Pos  // ops[i] is the operator before parts[i+1]
}

// call is Name(arg, ...).
type call struct {
	p     Pos // of the name
	fn    *function
	args  []node
	state any // what fn.prepare computed at Compile time, e.g. a compiled regexp
}

func (n *attrRef) pos() Pos { return n.p }
func (n *strLit) pos() Pos  { return n.p }
func (n *intLit) pos() Pos  { return n.p }
func (n *wordLit) pos() Pos { return n.p }
func (n *omitted) pos() Pos { return n.p }
func (n *compare) pos() Pos { return n.p }
func (n *concat) pos() Pos  { return n.p }
func (n *call) pos() Pos    { return n.p }

func isOmitted(n node) bool {
	_, ok := n.(*omitted)
	return ok
}

func (n *attrRef) format(b *strings.Builder) {
	b.WriteByte('[')
	b.WriteString(n.name)
	b.WriteByte(']')
}

func (n *strLit) format(b *strings.Builder) { writeQuoted(b, n.v.s) }

func (n *intLit) format(b *strings.Builder) {
	if n.hex {
		b.WriteString("&H")
		b.WriteString(strings.ToUpper(strconv.FormatUint(uint64(n.v.n), 16)))
		return
	}
	b.WriteString(strconv.FormatInt(n.v.n, 10))
}

func (n *wordLit) format(b *strings.Builder) { b.WriteString(n.name) }
func (n *omitted) format(*strings.Builder)   {}

func (n *compare) format(b *strings.Builder) {
	n.left.format(b)
	b.WriteByte(' ')
	b.WriteString(strings.Trim(n.op.String(), "'"))
	b.WriteByte(' ')
	n.right.format(b)
}

func (n *concat) format(b *strings.Builder) {
	for i, p := range n.parts {
		if i > 0 {
			b.WriteString(" & ")
		}
		p.format(b)
	}
}

func (n *call) format(b *strings.Builder) {
	b.WriteString(n.fn.name)
	b.WriteByte('(')
	for i, a := range n.args {
		if i > 0 {
			b.WriteString(", ")
		}
		a.format(b)
	}
	b.WriteByte(')')
}

// writeQuoted writes s as a string constant that lexes back to s.
func writeQuoted(b *strings.Builder, s string) {
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
}

// walk calls f for n and every node below it, parents first.
func walk(n node, f func(node)) {
	f(n)
	switch n := n.(type) {
	case *compare:
		walk(n.left, f)
		walk(n.right, f)
	case *concat:
		for _, p := range n.parts {
			walk(p, f)
		}
	case *call:
		for _, a := range n.args {
			walk(a, f)
		}
	}
}
