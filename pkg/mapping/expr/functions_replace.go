package expr

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Replace and the translation of .NET regular expressions to Go's RE2.

// Replace's parameter positions.
const (
	rpSource = iota
	rpOldValue
	rpRegexPattern
	rpRegexGroupName
	rpReplacementValue
	rpReplacementAttributeName
	rpTemplate
)

type replaceMode uint8

const (
	replaceString        replaceMode = iota // oldValue, replacementValue
	replaceTemplate                         // oldValue, template
	replaceRegex                            // regexPattern, replacementValue
	replaceRegexGroup                       // regexPattern, regexGroupName, replacementValue
	replaceFromAttribute                    // regexPattern, regexGroupName, replacementAttributeName
)

// replaceState is what Compile works out for one Replace call: which of the
// documented behaviours it selects (by which arguments are written), and
// the regexp and substitution when they are constants.
type replaceState struct {
	mode  replaceMode
	re    *regexp.Regexp // nil when the pattern is computed at evaluation time
	group int            // index of regexGroupName in re, when both are constants
	subst []substPart    // parsed replacementValue, when constant (replaceRegex)
}

func replaceFunctions() []*function {
	opt := func(name string) param { return param{name: name, optional: true} }
	return []*function{{
		name: "Replace",
		params: []param{
			{name: "source"}, opt("oldValue"), opt("regexPattern"), opt("regexGroupName"),
			opt("replacementValue"), opt("replacementAttributeName"), opt("template"),
		},
		prepare: prepareReplace,
		eval:    evalReplace,
	}}
}

func prepareReplace(c *call, errs *errorList) any {
	has := func(i int) bool { return given(c, i) }
	at := func(i int) Pos {
		if i < len(c.args) {
			return c.args[i].pos()
		}
		return c.p
	}
	bad := func(i int, msg string) any {
		errs.add(at(i), "Replace: "+msg)
		return nil
	}
	st := &replaceState{group: -1}
	switch {
	case has(rpOldValue) && has(rpRegexPattern):
		return bad(rpRegexPattern, "give oldValue or regexPattern, not both")
	case has(rpOldValue):
		switch {
		case has(rpRegexGroupName):
			return bad(rpRegexGroupName, "regexGroupName is only used with regexPattern")
		case has(rpReplacementAttributeName):
			return bad(rpReplacementAttributeName, "replacementAttributeName is only used with regexPattern")
		case has(rpReplacementValue) && has(rpTemplate):
			return bad(rpTemplate, "give replacementValue or template, not both")
		case has(rpTemplate):
			st.mode = replaceTemplate
		case has(rpReplacementValue):
			st.mode = replaceString
		default:
			return bad(rpOldValue, "oldValue needs replacementValue or template")
		}
		return st
	case has(rpRegexPattern):
		switch {
		case has(rpTemplate):
			return bad(rpTemplate, "template is only used with oldValue")
		case has(rpReplacementAttributeName) && has(rpReplacementValue):
			return bad(rpReplacementAttributeName, "give replacementValue or replacementAttributeName, not both")
		case has(rpReplacementAttributeName) && !has(rpRegexGroupName):
			return bad(rpReplacementAttributeName, "replacementAttributeName needs regexGroupName")
		case has(rpReplacementAttributeName):
			st.mode = replaceFromAttribute
		case !has(rpReplacementValue):
			return bad(rpRegexPattern, "regexPattern needs replacementValue or replacementAttributeName")
		case has(rpRegexGroupName):
			st.mode = replaceRegexGroup
		default:
			st.mode = replaceRegex
		}
	default:
		errs.add(c.p, "Replace: give oldValue or regexPattern")
		return nil
	}
	// Compile constant patterns now: once, and with errors at Compile time.
	lit, ok := litArg(c, rpRegexPattern)
	if !ok {
		return st
	}
	re, err := compileDotNetRegexp(lit.v.s)
	if err != nil {
		errs.addErr(lit.p, "Replace: regexPattern: "+err.Error(), err)
		return nil
	}
	st.re = re
	if g, ok := litArg(c, rpRegexGroupName); ok {
		if st.group = re.SubexpIndex(g.v.s); st.group < 0 {
			errs.add(g.p, fmt.Sprintf("Replace: regexGroupName %q is not a named group of regexPattern", g.v.s))
			return nil
		}
	}
	if r, ok := litArg(c, rpReplacementValue); ok && st.mode == replaceRegex {
		st.subst = parseSubstitution(r.v.s, re)
	}
	return st
}

// litArg returns argument i of c if it is a string constant.
func litArg(c *call, i int) (*strLit, bool) {
	if i >= len(c.args) {
		return nil, false
	}
	l, ok := c.args[i].(*strLit)
	return l, ok
}

func evalReplace(x evalCtx, c *call) (Value, error) {
	st := c.state.(*replaceState)
	src, err := x.arg(c, rpSource)
	if err != nil {
		return Value{}, err
	}
	if src.kind == KindNull && st.mode != replaceFromAttribute {
		return Value{}, nil
	}
	argText := func(i int) (string, error) {
		v, err := x.arg(c, i)
		return text(v), err
	}
	switch st.mode {
	case replaceString, replaceTemplate:
		old, err := argText(rpOldValue)
		if err != nil {
			return Value{}, err
		}
		if st.mode == replaceTemplate {
			tmpl, err := argText(rpTemplate)
			if err != nil {
				return Value{}, err
			}
			return mapTextErr(x, src, func(s string) (string, error) { return replaceAll(x, tmpl, old, s) })
		}
		repl, err := argText(rpReplacementValue)
		if err != nil {
			return Value{}, err
		}
		return mapTextErr(x, src, func(s string) (string, error) { return replaceAll(x, s, old, repl) })
	}
	re, group, err := st.regexp(x, c)
	if err != nil {
		return Value{}, err
	}
	switch st.mode {
	case replaceFromAttribute:
		// As documented for provisioning: a source with a value is returned
		// as is; otherwise the group is extracted from the attribute. (The
		// cloud sync reference describes this mode differently; its wording
		// contradicts its own parameter table, and the provisioning
		// reference has a worked example.)
		if !isNullOrEmpty(src) {
			return src, nil
		}
		from, err := x.arg(c, rpReplacementAttributeName)
		if err != nil || from.kind == KindNull {
			return Value{}, err
		}
		m := re.FindStringSubmatchIndex(text(from))
		if m == nil || m[2*group] < 0 {
			return Value{}, nil
		}
		return String(text(from)[m[2*group]:m[2*group+1]]), nil
	case replaceRegexGroup:
		repl, err := argText(rpReplacementValue)
		if err != nil {
			return Value{}, err
		}
		return mapTextErr(x, src, func(s string) (string, error) { return replaceGroup(x, re, s, group, repl) })
	}
	subst := st.subst
	if subst == nil {
		repl, err := argText(rpReplacementValue)
		if err != nil {
			return Value{}, err
		}
		subst = parseSubstitution(repl, re)
	}
	return mapTextErr(x, src, func(s string) (string, error) { return substituteAll(x, re, s, subst) })
}

// regexp returns the call's regexp and group index, compiling them now
// when they were not constants.
func (st *replaceState) regexp(x evalCtx, c *call) (*regexp.Regexp, int, error) {
	re, group := st.re, st.group
	if re == nil {
		pat, err := x.arg(c, rpRegexPattern)
		if err != nil {
			return nil, 0, err
		}
		if re, err = compileDotNetRegexp(text(pat)); err != nil {
			return nil, 0, fmt.Errorf("regexPattern: %w", err)
		}
	}
	if group < 0 && st.mode != replaceRegex {
		name, err := x.arg(c, rpRegexGroupName)
		if err != nil {
			return nil, 0, err
		}
		if group = re.SubexpIndex(text(name)); group < 0 {
			return nil, 0, fmt.Errorf("regexGroupName %s is not a named group of regexPattern", QuoteValue(text(name)))
		}
	}
	return re, group, nil
}

// replaceAll is .NET's String.Replace: an empty oldValue (an error there)
// leaves the string as it is. The length of the result is checked before
// it is built.
func replaceAll(x evalCtx, s, old, repl string) (string, error) {
	if old == "" {
		return s, nil
	}
	if len(repl) > len(old) {
		if err := x.fits(textSize(len(s) + strings.Count(s, old)*(len(repl)-len(old)))); err != nil {
			return "", err
		}
	}
	return strings.ReplaceAll(s, old, repl), nil
}

// findAll returns the matches of re in s, at most maxMatches of them.
func findAll(re *regexp.Regexp, s string) ([][]int, error) {
	m := re.FindAllStringSubmatchIndex(s, maxMatches+1)
	if len(m) > maxMatches {
		return nil, &limitError{fmt.Sprintf("regexPattern matches more than %s times in one value; the limit is %s", count(maxMatches), count(maxMatches))}
	}
	return m, nil
}

// replaceGroup replaces what the group matched, in every match, with repl
// (taken literally), keeping the rest of each match.
func replaceGroup(x evalCtx, re *regexp.Regexp, s string, group int, repl string) (string, error) {
	matches, err := findAll(re, s)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	last := 0
	for _, m := range matches {
		if gs, ge := m[2*group], m[2*group+1]; gs >= 0 {
			b.WriteString(s[last:gs])
			b.WriteString(repl)
			last = ge
			if err := x.fits(textSize(b.Len() + len(s) - last)); err != nil {
				return "", err
			}
		}
	}
	b.WriteString(s[last:])
	return b.String(), nil
}

// substPart is one piece of a parsed .NET substitution: literal text, or a
// reference to a group (>= 0) or to one of the special portions.
type substPart struct {
	lit   string
	group int
}

const (
	substLiteral = -1 - iota
	substLeft    // $` text before the match
	substRight   // $' text after the match
	substLast    // $+ last group
	substInput   // $_ whole input
)

// parseSubstitution parses a .NET replacement pattern as .NET does: $$,
// $n and ${n}, ${name}, $&, $`, $', $+ and $_; a $ that does not name a
// group of re is literal.
func parseSubstitution(repl string, re *regexp.Regexp) []substPart {
	var parts []substPart
	var lit strings.Builder
	flush := func() {
		if lit.Len() > 0 {
			parts = append(parts, substPart{lit: lit.String(), group: substLiteral})
			lit.Reset()
		}
	}
	ref := func(g int) { flush(); parts = append(parts, substPart{group: g}) }
	for i := 0; i < len(repl); i++ {
		if repl[i] != '$' || i+1 == len(repl) {
			lit.WriteByte(repl[i])
			continue
		}
		rest := repl[i+1:]
		switch rest[0] {
		case '$':
			lit.WriteByte('$')
			i++
			continue
		case '&':
			ref(0)
			i++
			continue
		case '`':
			ref(substLeft)
			i++
			continue
		case '\'':
			ref(substRight)
			i++
			continue
		case '+':
			ref(substLast)
			i++
			continue
		case '_':
			ref(substInput)
			i++
			continue
		case '{':
			if end := strings.IndexByte(rest, '}'); end > 1 {
				name := rest[1:end]
				g := re.SubexpIndex(name)
				if n, err := strconv.Atoi(name); err == nil && g < 0 && n >= 0 && n <= re.NumSubexp() {
					g = n
				}
				if g >= 0 {
					ref(g)
					i += end + 1
					continue
				}
			}
		default:
			j := 0
			for j < len(rest) && isDigit(rune(rest[j])) {
				j++
			}
			if n, err := strconv.Atoi(rest[:j]); err == nil && n <= re.NumSubexp() {
				ref(n)
				i += j
				continue
			}
		}
		lit.WriteByte('$')
	}
	flush()
	return parts
}

// substituteAll is .NET's Regex.Replace(input, replacement).
// What it writes for one match is bounded by the parts and the input, so
// checking the length after each match bounds the work.
func substituteAll(x evalCtx, re *regexp.Regexp, s string, parts []substPart) (string, error) {
	matches, err := findAll(re, s)
	if err != nil || matches == nil {
		return s, err
	}
	var b strings.Builder
	last := 0
	for _, m := range matches {
		b.WriteString(s[last:m[0]])
		for _, p := range parts {
			switch g := p.group; {
			case g == substLiteral:
				b.WriteString(p.lit)
			case g == substLeft:
				b.WriteString(s[:m[0]])
			case g == substRight:
				b.WriteString(s[m[1]:])
			case g == substInput:
				b.WriteString(s)
			default:
				if g == substLast {
					g = len(m)/2 - 1
				}
				if m[2*g] >= 0 {
					b.WriteString(s[m[2*g]:m[2*g+1]])
				}
			}
		}
		last = m[1]
		if err := x.fits(textSize(b.Len() + len(s) - last)); err != nil {
			return "", err
		}
	}
	b.WriteString(s[last:])
	return b.String(), nil
}

// compileDotNetRegexp compiles a .NET regular expression with Go's RE2
// engine. Named groups (?<name>...) are common to both; (?'name'...) is
// rewritten. Constructs RE2 cannot run (lookaround, backreferences, atomic
// groups) are reported by name. Remaining differences: \d and \w are ASCII
// in Go but Unicode in .NET, and $ matches only at the very end.
func compileDotNetRegexp(pattern string) (*regexp.Regexp, error) {
	var b strings.Builder
	inClass := false
	for i := 0; i < len(pattern); i++ {
		ch := pattern[i]
		rest := pattern[i:]
		switch {
		case ch == '\\' && i+1 < len(pattern):
			next := pattern[i+1]
			if !inClass && (next >= '1' && next <= '9' || next == 'k') {
				return nil, errors.New(`backreferences (\1, \k<name>) are not supported`)
			}
			b.WriteString(pattern[i : i+2])
			i++
			continue
		case inClass:
			if ch == ']' {
				inClass = false
			}
		case ch == '[':
			inClass = true
			b.WriteByte(ch)
			// A ] right after [ or [^ is a literal.
			if strings.HasPrefix(rest, "[^]") {
				b.WriteString("^]")
				i += 2
			} else if strings.HasPrefix(rest, "[]") {
				b.WriteByte(']')
				i++
			}
			continue
		case strings.HasPrefix(rest, "(?="), strings.HasPrefix(rest, "(?!"),
			strings.HasPrefix(rest, "(?<="), strings.HasPrefix(rest, "(?<!"):
			return nil, errors.New("lookahead and lookbehind assertions are not supported")
		case strings.HasPrefix(rest, "(?>"):
			return nil, errors.New("atomic groups (?>...) are not supported")
		case strings.HasPrefix(rest, "(?'"):
			if end := strings.IndexByte(rest[3:], '\''); end >= 0 {
				b.WriteString("(?P<" + rest[3:3+end] + ">")
				i += 3 + end
				continue
			}
		}
		b.WriteByte(ch)
	}
	return regexp.Compile(b.String())
}
