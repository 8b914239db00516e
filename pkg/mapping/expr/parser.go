package expr

import (
	"fmt"
	"slices"
	"strings"
)

// maxDepth bounds function nesting, so that hostile or broken input cannot
// exhaust the stack; real mappings nest a handful of levels.
const maxDepth = 100

// parser is a recursive-descent parser over the lexer's tokens:
//
//	expr    = concat [ ("=" | "<>" | "<" | "<=" | ">" | ">=") concat ]
//	concat  = primary { "&" primary }
//	primary = attribute | string | number | word | name "(" [ arg { "," arg } ] ")"
//	arg     = [ expr ]   (an empty argument is allowed, as in Replace)
//
// It resolves functions and checks argument counts as it goes, and after a
// syntax error inside an argument it skips to the next "," or ")" so that
// one Compile reports every error it can.
type parser struct {
	toks  []token
	i     int
	errs  *errorList
	funcs *funcTable
	depth int
	// syntax counts syntax errors, so that a call whose argument list was
	// broken is not also reported for its argument count.
	syntax int
}

func (p *parser) tok() token { return p.toks[p.i] }

func (p *parser) advance() token {
	t := p.toks[p.i]
	if t.kind != tokEOF {
		p.i++
	}
	return t
}

func (p *parser) peekKind(n int) tokenKind {
	if p.i+n < len(p.toks) {
		return p.toks[p.i+n].kind
	}
	return tokEOF
}

// unexpected reports the current token unless the lexer already did.
func (p *parser) unexpected(what string) {
	p.syntax++
	t := p.tok()
	if t.kind == tokIllegal {
		return
	}
	p.errs.add(t.pos, fmt.Sprintf("%s, found %s", what, describe(t)))
}

func describe(t token) string {
	switch t.kind {
	case tokAttr:
		return "attribute [" + t.text + "]"
	case tokString:
		return "string constant"
	case tokIdent:
		return fmt.Sprintf("%q", t.text)
	}
	return t.kind.String()
}

// parse parses a whole expression; it returns nil if nothing usable was
// parsed (errors are in p.errs either way).
func (p *parser) parse() node {
	if p.tok().kind == tokEOF {
		p.errs.add(p.tok().pos, "empty expression")
		return nil
	}
	n := p.expr()
	if n == nil || !p.notEnum(n) {
		return nil
	}
	if p.tok().kind != tokEOF {
		p.unexpected("unexpected text after the end of the expression")
	}
	return n
}

func isComparison(k tokenKind) bool { return k >= tokEq && k <= tokGe }

func (p *parser) expr() node {
	left := p.concat()
	if left == nil || !isComparison(p.tok().kind) {
		return left
	}
	op := p.advance()
	right := p.concat()
	if right == nil || !p.notEnum(left) || !p.notEnum(right) {
		return nil
	}
	if isComparison(p.tok().kind) {
		p.syntax++
		p.errs.add(p.tok().pos, "comparisons cannot be chained; nest IIF calls instead")
		return nil
	}
	return &compare{p: op.pos, op: op.kind, left: left, right: right}
}

func (p *parser) concat() node {
	left := p.primary()
	if left == nil || p.tok().kind != tokConcat {
		return left
	}
	if !p.notEnum(left) {
		return nil
	}
	c := &concat{parts: []node{left}}
	for p.tok().kind == tokConcat {
		op := p.advance()
		right := p.primary()
		if right == nil || !p.notEnum(right) {
			return nil
		}
		c.p = op.pos
		c.parts = append(c.parts, right)
		c.ops = append(c.ops, op.pos)
	}
	return c
}

func (p *parser) primary() node {
	t := p.tok()
	switch t.kind {
	case tokAttr:
		p.advance()
		return &attrRef{p: t.pos, name: t.text}
	case tokString:
		p.advance()
		return &strLit{p: t.pos, v: String(t.text)}
	case tokInt:
		p.advance()
		return &intLit{p: t.pos, v: Int(t.num), hex: t.hex}
	case tokIdent:
		if p.peekKind(1) == tokLParen {
			return p.call()
		}
		p.advance()
		return p.word(t)
	case tokIllegal:
		p.syntax++
		p.advance()
		return nil
	}
	p.unexpected("expected an attribute, a string, a number or a function call")
	return nil
}

// word resolves a bare word: True, False, Null or an enumeration constant
// (case-insensitive, as in VB).
func (p *parser) word(t token) node {
	switch strings.ToLower(t.text) {
	case "true":
		return &wordLit{p: t.pos, name: "True", v: Bool(true)}
	case "false":
		return &wordLit{p: t.pos, name: "False", v: Bool(false)}
	case "null":
		return &wordLit{p: t.pos, name: "Null"}
	}
	if canon, ok := p.funcs.enumWords[strings.ToLower(t.text)]; ok {
		return &wordLit{p: t.pos, name: canon, v: String(canon)}
	}
	if f := p.funcs.lookup(t.text); f != nil {
		p.errs.add(t.pos, fmt.Sprintf("%s is a function: write %s(...)", f.name, f.name))
		return nil
	}
	msg := fmt.Sprintf("unknown name %q; attributes are written in square brackets: [%s]", t.text, t.text)
	if s := suggest(t.text, p.funcs.enumNames); s != "" {
		msg = fmt.Sprintf("unknown name %q; did you mean %s?", t.text, s)
	}
	p.errs.add(t.pos, msg)
	return nil
}

// notEnum reports an enumeration constant used other than as a function
// argument (the function checks those against its parameters).
func (p *parser) notEnum(n node) bool {
	w, ok := n.(*wordLit)
	if !ok || w.v.kind != KindString {
		return true
	}
	p.errs.add(w.p, fmt.Sprintf("%s can only be used as %s", w.name, p.funcs.enumUses(w.name)))
	return false
}

func (p *parser) call() node {
	name := p.advance()
	open := p.advance() // (
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxDepth {
		p.syntax++
		p.errs.add(name.pos, fmt.Sprintf("functions nested more than %d deep", maxDepth))
		p.skipToClose()
		return nil
	}
	before := p.syntax
	var args []node
	if p.tok().kind == tokRParen {
		p.advance()
	} else {
	loop:
		for {
			var a node
			switch p.tok().kind {
			case tokComma, tokRParen:
				a = &omitted{p: p.tok().pos}
			default:
				if a = p.expr(); a == nil {
					p.sync()
				}
			}
			args = append(args, a)
			if p.tok().kind != tokComma && p.tok().kind != tokRParen && p.tok().kind != tokEOF {
				p.unexpected("expected ',' or ')' after an argument")
				p.sync()
			}
			switch p.tok().kind {
			case tokComma:
				p.advance()
			case tokRParen:
				p.advance()
				break loop
			default:
				p.syntax++
				p.errs.add(p.tok().pos, fmt.Sprintf("missing ')' to close %s( at %s", name.text, open.pos))
				return nil
			}
		}
	}
	f := p.funcs.lookup(name.text)
	if f == nil {
		p.errs.add(name.pos, p.funcs.unknownMessage(name.text))
		return nil
	}
	if p.syntax > before { // the argument count cannot be trusted
		return nil
	}
	c := &call{p: name.pos, fn: f, args: args}
	if !f.checkArity(c, p.errs) || slices.Contains(args, nil) {
		return nil
	}
	c.state = f.prepareCall(c, p.errs)
	return c
}

// sync skips to the next "," or ")" of the current argument list.
func (p *parser) sync() {
	depth := 0
	for {
		switch p.tok().kind {
		case tokEOF:
			return
		case tokLParen:
			depth++
		case tokRParen:
			if depth == 0 {
				return
			}
			depth--
		case tokComma:
			if depth == 0 {
				return
			}
		}
		p.advance()
	}
}

// skipToClose skips past the ")" that closes the current call.
func (p *parser) skipToClose() {
	p.sync()
	for p.tok().kind == tokComma {
		p.advance()
		p.sync()
	}
	if p.tok().kind == tokRParen {
		p.advance()
	}
}
