package expr

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Pos is a position in an expression's source: 1-based line, and column
// counted in runes.
type Pos struct {
	Line, Col int
}

func (p Pos) String() string { return strconv.Itoa(p.Line) + ":" + strconv.Itoa(p.Col) }

type tokenKind uint8

const (
	tokEOF     tokenKind = iota
	tokIllegal           // already reported by the lexer
	tokAttr              // [name]; text is the name
	tokString            // "..."; text is the unescaped value
	tokInt               // 12, -3, &HF7; num holds the value
	tokIdent             // a function name or a bare word such as vbTextCompare
	tokLParen
	tokRParen
	tokComma
	tokConcat // &
	tokEq     // =
	tokNe     // <>
	tokLt     // <
	tokLe     // <=
	tokGt     // >
	tokGe     // >=
)

func (k tokenKind) String() string {
	switch k {
	case tokEOF:
		return "end of expression"
	case tokIllegal:
		return "invalid character"
	case tokAttr:
		return "attribute"
	case tokString:
		return "string"
	case tokInt:
		return "number"
	case tokIdent:
		return "name"
	case tokLParen:
		return "'('"
	case tokRParen:
		return "')'"
	case tokComma:
		return "','"
	case tokConcat:
		return "'&'"
	case tokEq:
		return "'='"
	case tokNe:
		return "'<>'"
	case tokLt:
		return "'<'"
	case tokLe:
		return "'<='"
	case tokGt:
		return "'>'"
	case tokGe:
		return "'>='"
	}
	return "token(" + strconv.Itoa(int(k)) + ")"
}

type token struct {
	kind tokenKind
	pos  Pos
	text string
	num  int64
	hex  bool // an &H literal, kept so that String() writes it back as hex
}

// lexer turns source into tokens. It reports every lexical error it finds
// and carries on, so that one Compile reports as much as possible.
type lexer struct {
	src  string
	off  int // byte offset of the next rune
	pos  Pos // position of the next rune
	errs *errorList
}

// lex returns all tokens of src, ending with tokEOF.
func lex(src string, errs *errorList) []token {
	l := &lexer{src: src, pos: Pos{1, 1}, errs: errs}
	var toks []token
	for {
		t := l.next()
		toks = append(toks, t)
		if t.kind == tokEOF {
			return toks
		}
	}
}

func (l *lexer) peek() rune {
	if l.off >= len(l.src) {
		return -1
	}
	r, _ := utf8.DecodeRuneInString(l.src[l.off:])
	return r
}

func (l *lexer) peekAt(n int) rune { // n bytes ahead; only used after ASCII runes
	if l.off+n >= len(l.src) {
		return -1
	}
	r, _ := utf8.DecodeRuneInString(l.src[l.off+n:])
	return r
}

func (l *lexer) advance() rune {
	r, w := utf8.DecodeRuneInString(l.src[l.off:])
	l.off += w
	if r == '\n' {
		l.pos.Line++
		l.pos.Col = 1
	} else {
		l.pos.Col++
	}
	return r
}

func (l *lexer) next() token {
	for l.off < len(l.src) && unicode.IsSpace(l.peek()) {
		l.advance()
	}
	start := l.pos
	if l.off >= len(l.src) {
		return token{kind: tokEOF, pos: start}
	}
	r := l.peek()
	switch {
	case r == '[':
		return l.attribute()
	case r == '"':
		return l.string()
	case r >= '0' && r <= '9', r == '-' && isDigit(l.peekAt(1)):
		return l.decimal()
	case r == '&' && (l.peekAt(1) == 'H' || l.peekAt(1) == 'h') && isHexDigit(l.peekAt(2)):
		return l.hex()
	case r == '_' || unicode.IsLetter(r):
		return l.ident()
	}
	l.advance()
	simple := func(k tokenKind) token { return token{kind: k, pos: start} }
	switch r {
	case '(':
		return simple(tokLParen)
	case ')':
		return simple(tokRParen)
	case ',':
		return simple(tokComma)
	case '&':
		return simple(tokConcat)
	case '=':
		return simple(tokEq)
	case '<':
		switch l.peek() {
		case '>':
			l.advance()
			return simple(tokNe)
		case '=':
			l.advance()
			return simple(tokLe)
		}
		return simple(tokLt)
	case '>':
		if l.peek() == '=' {
			l.advance()
			return simple(tokGe)
		}
		return simple(tokGt)
	case '!':
		if l.peek() == '=' {
			l.advance()
			l.errs.add(start, `"!=" is not an operator; write <> for "not equal"`)
			return simple(tokNe)
		}
	case '\'':
		l.errs.add(start, `string constants are written in double quotes ("...")`)
		return l.skipIllegal(start, '\'')
	case '“', '”', '„':
		l.errs.add(start, fmt.Sprintf("typographic quote %q: string constants are written in plain double quotes (\")", r))
		return token{kind: tokIllegal, pos: start}
	}
	if r == utf8.RuneError {
		l.errs.add(start, "invalid UTF-8 in expression")
	} else {
		l.errs.add(start, fmt.Sprintf("unexpected character %q", r))
	}
	return token{kind: tokIllegal, pos: start}
}

// skipIllegal skips to the closing quote of a mis-quoted string, so that it
// is reported once rather than once per word.
func (l *lexer) skipIllegal(start Pos, quote rune) token {
	for l.off < len(l.src) {
		r := l.peek()
		if r == '\n' {
			break
		}
		l.advance()
		if r == quote {
			break
		}
	}
	return token{kind: tokIllegal, pos: start}
}

// isAttrRune reports whether r may appear in an attribute name: letters,
// digits, '-', ';' and '.' (LDAP names and options, such as
// userCertificate;binary), plus '_' and ':' for Entra extension attributes
// (extension_<appId>_name) and SCIM-style names.
func isAttrRune(r rune) bool {
	return unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("-;._:", r)
}

func (l *lexer) attribute() token {
	start := l.pos
	l.advance() // [
	nameStart := l.off
	bad := false
	for {
		if l.off >= len(l.src) || l.peek() == '\n' {
			l.errs.add(start, `unterminated attribute reference: missing "]"`)
			return token{kind: tokIllegal, pos: start}
		}
		p := l.pos
		r := l.peek()
		if r == ']' {
			break
		}
		if !isAttrRune(r) && !bad {
			l.errs.add(p, fmt.Sprintf("invalid character %q in attribute name", r))
			bad = true
		}
		l.advance()
	}
	name := l.src[nameStart:l.off]
	l.advance() // ]
	if bad {
		return token{kind: tokIllegal, pos: start}
	}
	if name == "" {
		l.errs.add(start, "empty attribute name")
		return token{kind: tokIllegal, pos: start}
	}
	return token{kind: tokAttr, pos: start, text: name}
}

// string lexes a string constant. A backslash escapes '"' and '\'; \n, \r
// and \t are the newline, carriage return and tab that Microsoft's Replace
// documentation calls special monikers. Any other escape is an error, since
// the documentation requires a literal backslash to be written \\.
func (l *lexer) string() token {
	start := l.pos
	l.advance() // "
	var b strings.Builder
	for {
		if l.off >= len(l.src) {
			l.errs.add(start, `unterminated string: missing closing "`)
			return token{kind: tokIllegal, pos: start}
		}
		p, from := l.pos, l.off
		r := l.advance()
		switch r {
		case '"':
			return token{kind: tokString, pos: start, text: b.String()}
		case '\\':
			if l.off >= len(l.src) {
				continue // reported as unterminated
			}
			e := l.advance()
			switch e {
			case '"', '\\':
				b.WriteRune(e)
			case 'n':
				b.WriteByte('\n')
			case 'r':
				b.WriteByte('\r')
			case 't':
				b.WriteByte('\t')
			default:
				l.errs.add(p, fmt.Sprintf(`unknown escape sequence "\%c": write \\ for a backslash`, e))
			}
		default:
			b.WriteString(l.src[from:l.off]) // the source bytes, even if not valid UTF-8
		}
	}
}

func isDigit(r rune) bool    { return r >= '0' && r <= '9' }
func isHexDigit(r rune) bool { return isDigit(r) || (r >= 'a' && r <= 'f') || (r >= 'A' && r <= 'F') }
func isIdentRune(r rune) bool {
	return r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r)
}

func (l *lexer) decimal() token {
	start := l.pos
	from := l.off
	l.advance() // digit or '-'
	for isDigit(l.peek()) {
		l.advance()
	}
	text := l.src[from:l.off]
	if l.peek() == '.' && isDigit(l.peekAt(1)) {
		for l.peek() == '.' || isDigit(l.peek()) {
			l.advance()
		}
		l.errs.add(start, "only whole numbers are supported")
		return token{kind: tokIllegal, pos: start}
	}
	if isIdentRune(l.peek()) {
		for isIdentRune(l.peek()) {
			l.advance()
		}
		l.errs.add(start, fmt.Sprintf("invalid number %q", l.src[from:l.off]))
		return token{kind: tokIllegal, pos: start}
	}
	n, err := strconv.ParseInt(text, 10, 64)
	if err != nil {
		l.errs.add(start, fmt.Sprintf("number %s is out of range", text))
		return token{kind: tokIllegal, pos: start}
	}
	return token{kind: tokInt, pos: start, num: n}
}

// hex lexes a VB hexadecimal literal such as &HF7. The digits are read as
// an unsigned 64-bit value, so &HFFFFFFFF is 4294967295 (VB would make it
// -1 as a 32-bit Integer); bit masks on userAccountControl read naturally.
func (l *lexer) hex() token {
	start := l.pos
	l.advance() // &
	l.advance() // H
	from := l.off
	for isHexDigit(l.peek()) {
		l.advance()
	}
	digits := l.src[from:l.off]
	if isIdentRune(l.peek()) {
		for isIdentRune(l.peek()) {
			l.advance()
		}
		l.errs.add(start, fmt.Sprintf("invalid hexadecimal number %q", l.src[from-2:l.off]))
		return token{kind: tokIllegal, pos: start}
	}
	n, err := strconv.ParseUint(digits, 16, 64)
	if err != nil || n > 1<<63-1 {
		l.errs.add(start, fmt.Sprintf("number &H%s is out of range", digits))
		return token{kind: tokIllegal, pos: start}
	}
	return token{kind: tokInt, pos: start, num: int64(n), hex: true}
}

func (l *lexer) ident() token {
	start := l.pos
	from := l.off
	for l.off < len(l.src) && isIdentRune(l.peek()) {
		l.advance()
	}
	return token{kind: tokIdent, pos: start, text: l.src[from:l.off]}
}
