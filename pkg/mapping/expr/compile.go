package expr

import (
	"fmt"
	"slices"
	"strings"
)

// builtins is the function table. It is built once and never modified.
var builtins = newFuncTable(
	logicFunctions(),
	textFunctions(),
	collectionFunctions(),
	replaceFunctions(),
	encodingFunctions(),
	dateFunctions(),
	randomFunctions(),
	targetFunctions(),
)

// Expr is a compiled expression. It is immutable and safe for concurrent
// use: compile it once and evaluate it for every entry.
type Expr struct {
	src     string
	root    node
	attrs   []string
	unique  bool // the expression is a SelectUniqueValue call
	redacts bool // the expression calls Redact somewhere
}

// Compile parses src and checks it: syntax, known functions, argument
// counts, enumeration words and constant regular expressions. All problems
// found are returned at once, as an *Error or an errors.Join of several
// (see Errors).
func Compile(src string) (*Expr, error) {
	errs := &errorList{src: src}
	p := &parser{toks: lex(src, errs), errs: errs, funcs: builtins}
	root := p.parse()
	e := &Expr{src: src, root: root}
	if root != nil {
		e.check(errs)
	}
	if err := errs.err(); err != nil {
		return nil, err
	}
	if root == nil { // every path that returns nil reports why; this is a safety net
		return nil, &Error{Line: 1, Col: 1, Msg: "invalid expression", Src: src}
	}
	e.attrs = attributes(root)
	return e, nil
}

// check reports functions that must be the whole expression but are
// nested, and notes what the caller needs to know about the calls.
func (e *Expr) check(errs *errorList) {
	walk(e.root, func(n node) {
		c, ok := n.(*call)
		if !ok {
			return
		}
		switch {
		case c.fn.topLevel && n == e.root:
			e.unique = true
		case c.fn.topLevel:
			errs.add(c.p, fmt.Sprintf("%s must be the whole expression; it cannot be nested in a function or an operator", c.fn.name))
		}
		if c.fn.name == "Redact" {
			e.redacts = true
		}
	})
}

// UsesSelectUniqueValue reports whether e is a SelectUniqueValue call, and
// so needs an Evaluator whose Unique asks the tenant. Entra documents the
// function for object creation only: its flow should apply on create.
func (e *Expr) UsesSelectUniqueValue() bool { return e.unique }

// Redacts reports whether e calls Redact: whatever it evaluates to must
// be shown as RedactedText in logs, plans and reports. The value itself
// is still what flows to the target.
func (e *Expr) Redacts() bool { return e.redacts }

// MustCompile is like Compile but panics on error. It is meant for
// expressions fixed in code and tests.
func MustCompile(src string) *Expr {
	e, err := Compile(src)
	if err != nil {
		panic("expr: " + err.Error())
	}
	return e
}

// String returns the canonical source of e: functions spelled as
// documented, ", " between arguments, single spaces around operators.
// Compiling it gives an equivalent expression.
func (e *Expr) String() string {
	var b strings.Builder
	e.root.format(&b)
	return b.String()
}

// Source returns the source e was compiled from.
func (e *Expr) Source() string { return e.src }

// Attributes returns the names of the attributes e references, each once
// (compared case-insensitively), spelled as first written, in order of
// first appearance.
func (e *Expr) Attributes() []string { return slices.Clone(e.attrs) }

func attributes(root node) []string {
	var names []string
	walk(root, func(n node) {
		a, ok := n.(*attrRef)
		if !ok {
			return
		}
		for _, seen := range names {
			if strings.EqualFold(seen, a.name) {
				return
			}
		}
		names = append(names, a.name)
	})
	return names
}
