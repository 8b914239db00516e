package expr

import (
	"fmt"
	"slices"
	"strings"
)

// function describes one function of the expression language: its
// parameters (from which the argument count is checked at Compile time),
// an optional compile-time hook and its evaluation.
type function struct {
	name   string  // canonical spelling; lookups are case-insensitive
	params []param // positional parameters
	// repeat is how many trailing params repeat: 1 for Join's sources, 2 for
	// Switch's key/value pairs, 0 when the count is fixed.
	repeat int
	// forms are shorter parameter lists, for a function whose references
	// document different signatures; a call with exactly as many arguments
	// as a form uses it. FormatDateTime is (source, dateTimeStyles,
	// inputFormat, outputFormat) for provisioning, (source, inputFormat,
	// outputFormat) for cloud sync and (value, format) for Connect Sync.
	forms [][]param
	// topLevel functions must be the whole expression (SelectUniqueValue).
	topLevel bool
	// passes is true for a function whose result is one of its arguments
	// (or a part of one) as it is: it builds nothing, so its result is not
	// charged again to the evaluation's budget (IIF, Coalesce, Redact).
	passes bool
	// prepare, if set, checks the arguments beyond their count (reporting
	// problems to errs) and returns per-call state kept in call.state, such
	// as a regexp compiled once for every evaluation.
	prepare func(c *call, errs *errorList) any
	// eval evaluates a call. Arguments are evaluated lazily, through
	// x.arg, so that IIF, Switch and Coalesce only evaluate what they use.
	// A plain error is turned into an *Error at the call's position.
	eval func(x evalCtx, c *call) (Value, error)
}

type param struct {
	name string
	// optional parameters may be given empty, as in Replace([x], , "re", ...),
	// and left out at the end of the argument list.
	optional bool
	// enum lists the bare words accepted for this parameter, such as
	// vbTextCompare for InStr's compareType.
	enum []string
}

func (f *function) param(i int) param {
	if i < len(f.params) {
		return f.params[i]
	}
	first := len(f.params) - f.repeat
	return f.params[first+(i-first)%f.repeat]
}

// form returns the parameter list of a shorter form with exactly n
// parameters, or nil.
func (f *function) form(n int) []param {
	for _, ps := range f.forms {
		if len(ps) == n {
			return ps
		}
	}
	return nil
}

// paramOf returns parameter i of a call with n arguments.
func (f *function) paramOf(n, i int) param {
	if ps := f.form(n); ps != nil {
		return ps[i]
	}
	return f.param(i)
}

// required is the argument count of params without its optional tail.
func (f *function) required() int {
	n := len(f.params)
	for n > 0 && f.params[n-1].optional {
		n--
	}
	return n
}

// minArgs is the fewest arguments of any form.
func (f *function) minArgs() int {
	n := f.required()
	for _, ps := range f.forms {
		n = min(n, len(ps))
	}
	return n
}

// checkArity checks the argument count, that required arguments are not
// empty and that bare words are accepted where they are used.
func (f *function) checkArity(c *call, errs *errorList) bool {
	n, lo, hi := len(c.args), f.required(), len(f.params)
	ok := n >= lo && (n <= hi || f.repeat > 0)
	if ok && f.repeat > 0 && n > hi {
		ok = (n-hi)%f.repeat == 0
	}
	ok = ok || f.form(n) != nil
	if !ok {
		errs.add(c.p, f.arityMessage(n))
		return false
	}
	for i, a := range c.args {
		pr := f.paramOf(n, i)
		switch a := a.(type) {
		case *omitted:
			if !pr.optional {
				errs.add(a.p, fmt.Sprintf("%s: argument %d (%s) is required", f.name, i+1, pr.name))
				ok = false
			}
		case *wordLit:
			if a.v.kind == KindString && !slices.Contains(pr.enum, a.name) {
				msg := fmt.Sprintf("%s: %s is not valid for %s", f.name, a.name, pr.name)
				if len(pr.enum) > 0 {
					msg += " (use " + strings.Join(pr.enum, " or ") + ")"
				}
				errs.add(a.p, msg)
				ok = false
			}
		}
	}
	return ok
}

func (f *function) arityMessage(got int) string {
	lo, hi := f.minArgs(), len(f.params)
	plural := func(n int) string {
		switch n {
		case 0:
			return "no arguments"
		case 1:
			return "1 argument"
		}
		return fmt.Sprintf("%d arguments", n)
	}
	var want string
	switch {
	case f.repeat == 1:
		want = "at least " + plural(lo)
	case f.repeat == 2 && (hi-f.repeat)%2 == 0:
		want = fmt.Sprintf("an even number of arguments, at least %d", lo)
	case f.repeat > 0:
		want = fmt.Sprintf("%s and then groups of %d", plural(hi), f.repeat)
	case lo == hi:
		want = plural(lo)
	default:
		want = fmt.Sprintf("%d to %d arguments", lo, hi)
	}
	return fmt.Sprintf("%s takes %s, got %d", f.name, want, got)
}

func (f *function) prepareCall(c *call, errs *errorList) any {
	if f.prepare == nil {
		return nil
	}
	return f.prepare(c, errs)
}

// funcTable is the set of functions an expression may call. It is built
// once and never modified, so it is safe to share.
type funcTable struct {
	byName    map[string]*function // lower-case name
	names     []string             // canonical names, sorted
	enumWords map[string]string    // lower-case word -> canonical spelling
	enumNames []string
	enumUse   map[string][]string // canonical word -> "compareType of InStr", ...
}

// newFuncTable builds a table; it panics on a duplicate name, which is a
// programming error.
func newFuncTable(groups ...[]*function) *funcTable {
	t := &funcTable{
		byName:    map[string]*function{},
		enumWords: map[string]string{},
		enumUse:   map[string][]string{},
	}
	for _, g := range groups {
		for _, f := range g {
			key := strings.ToLower(f.name)
			if _, dup := t.byName[key]; dup {
				panic("expr: function " + f.name + " defined twice")
			}
			t.byName[key] = f
			t.names = append(t.names, f.name)
			for _, p := range f.params {
				for _, w := range p.enum {
					if _, seen := t.enumWords[strings.ToLower(w)]; !seen {
						t.enumNames = append(t.enumNames, w)
					}
					t.enumWords[strings.ToLower(w)] = w
					t.enumUse[w] = append(t.enumUse[w], p.name+" of "+f.name)
				}
			}
		}
	}
	slices.Sort(t.names)
	slices.Sort(t.enumNames)
	return t
}

func (t *funcTable) lookup(name string) *function { return t.byName[strings.ToLower(name)] }

func (t *funcTable) enumUses(word string) string { return strings.Join(t.enumUse[word], " or ") }

func (t *funcTable) unknownMessage(name string) string {
	for _, d := range strings.Fields(documentedFunctions) {
		if strings.EqualFold(d, name) {
			return fmt.Sprintf("function %s is not supported yet", d)
		}
	}
	if s := suggest(name, t.names); s != "" {
		return fmt.Sprintf("unknown function %q; did you mean %q?", name, s)
	}
	return fmt.Sprintf("unknown function %q", name)
}

// documentedFunctions are the functions in Microsoft's references for
// provisioning and cloud sync expressions. A name here that is not in the
// table is reported as not supported yet rather than unknown; adding a
// function to the table is enough to support it.
const documentedFunctions = `
	Append AppRoleAssignmentsComplex BitAnd CBool CDate Coalesce ConvertFromBase64
	ConvertToBase64 ConvertToUTF8Hex Count CStr DateAdd DateDiff DateFromNum DNComponent
	Error FormatDateTime Guid IgnoreFlowIfNullOrEmpty IIF InStr IsNull IsNullOrEmpty
	IsPresent IsString Item Join Left Mid NormalizeDiacritics Not Now NumFromDate PCase
	RandomString Redact RemoveDuplicates Replace SelectUniqueValue SingleAppRoleAssignment
	Split StringFromSID StripSpaces Switch ToLower ToUpper Trim Word`

// suggest returns the candidate nearest to name (case-insensitive, counting
// a swap of two neighbouring letters as one edit), or "" when none is close
// enough to be a plausible typo.
func suggest(name string, candidates []string) string {
	best, bestDist := "", 1<<30
	lname := []rune(strings.ToLower(name))
	for _, c := range candidates {
		if d := editDistance(lname, []rune(strings.ToLower(c))); d < bestDist {
			best, bestDist = c, d
		}
	}
	limit := 2
	switch n := len(lname); {
	case n <= 3:
		limit = 1
	case n >= 12:
		limit = 3
	}
	if bestDist > limit {
		return ""
	}
	return best
}

// editDistance is the optimal string alignment distance: insertions,
// deletions, substitutions and transpositions of adjacent runes.
func editDistance(a, b []rune) int {
	if len(a) > 64 || len(b) > 64 { // not a typo of a function name
		return 1 << 30
	}
	rows := make([][]int, len(a)+1)
	for i := range rows {
		rows[i] = make([]int, len(b)+1)
		rows[i][0] = i
	}
	for j := range rows[0] {
		rows[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d := min(rows[i-1][j]+1, rows[i][j-1]+1, rows[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d = min(d, rows[i-2][j-2]+1)
			}
			rows[i][j] = d
		}
	}
	return rows[len(a)][len(b)]
}
