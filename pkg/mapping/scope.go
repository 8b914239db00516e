package mapping

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/guestsync/guestsync/pkg/mapping/expr"
	"github.com/guestsync/guestsync/pkg/source"
)

// Scoping filters follow Microsoft's "Scoping users or groups to be
// provisioned with scoping filters" (app provisioning): clauses within a
// filter are AND-ed, filters are OR-ed, every comparison is case-sensitive,
// and a clause on a null or empty attribute is false, whatever its operator,
// except IS NULL.
//
// Where the page is silent guestsync chooses:
//   - Multi-valued attributes ("filtering is not supported for multi-valued
//     attributes"): a positive operator is true when any value satisfies it;
//     a negative one (NOT EQUALS, NOT REGEX MATCH, !&) when no value
//     satisfies its positive form.
//   - Operator names are matched case-insensitively, with "_" and " "
//     interchangeable, so EQUALS, NOT_EQUALS, Greater_Than and ENDS WITH
//     (as the portal, the docs and the Graph API spell them) all work.

// operator evaluates one scoping clause against an attribute's non-empty
// values (never called with none: that is null, and false).
type operator func(values []string) bool

type operatorDef struct {
	name string // canonical spelling, as in Microsoft's list
	// build checks the clause value and returns the clause function.
	build func(value string) (operator, error)
	// needsValue is false for the unary operators (IS NULL, IS TRUE, ...).
	needsValue bool
}

func anyValue(f func(string) bool) operator {
	return func(v []string) bool {
		for _, s := range v {
			if f(s) {
				return true
			}
		}
		return false
	}
}

func noValue(f func(string) bool) operator {
	a := anyValue(f)
	return func(v []string) bool { return !a(v) }
}

func fixed(op operator) func(string) (operator, error) {
	return func(string) (operator, error) { return op, nil }
}

func integerCompare(orEqual bool) func(string) (operator, error) {
	return func(value string) (operator, error) {
		want, err := strconv.ParseInt(strings.TrimSpace(value), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("the value must be an integer, not %q", value)
		}
		return anyValue(func(s string) bool {
			n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
			if err != nil {
				return false // "the attribute on the user must be an integer"
			}
			return n > want || orEqual && n == want
		}), nil
	}
}

func regexMatch(negate bool) func(string) (operator, error) {
	return func(value string) (operator, error) {
		re, err := regexp.Compile(value)
		if err != nil {
			return nil, fmt.Errorf("invalid regular expression %q: %v", value, err)
		}
		// .NET's Regex.IsMatch finds a match anywhere, as Go's MatchString
		// does: "([1-9][0-9])" matches any value containing 10 to 99.
		if negate {
			return noValue(re.MatchString), nil
		}
		return anyValue(re.MatchString), nil
	}
}

// operators is Microsoft's documented list, in its order.
var operators = []operatorDef{
	// "&: true if the evaluated attribute exists in the input string
	// value": the clause value contains the attribute's value.
	{"&", func(value string) (operator, error) {
		return anyValue(func(s string) bool { return strings.Contains(value, s) }), nil
	}, true},
	{"!&", func(value string) (operator, error) {
		return noValue(func(s string) bool { return strings.Contains(value, s) }), nil
	}, true},
	{"ENDS_WITH", func(value string) (operator, error) {
		return anyValue(func(s string) bool { return strings.HasSuffix(s, value) }), nil
	}, true},
	{"EQUALS", func(value string) (operator, error) {
		return anyValue(func(s string) bool { return s == value }), nil
	}, true},
	{"Greater_Than", integerCompare(false), true},
	{"Greater_Than_OR_EQUALS", integerCompare(true), true},
	// "Includes: true if the evaluated attribute contains the string value
	// (case sensitive)", as .NET's String.Contains.
	{"Includes", func(value string) (operator, error) {
		return anyValue(func(s string) bool { return strings.Contains(s, value) }), nil
	}, true},
	{"IS FALSE", fixed(anyValue(func(s string) bool { return strings.EqualFold(s, "false") })), false},
	{"IS NOT NULL", fixed(func([]string) bool { return true }), false},
	{"IS NULL", nil, false}, // handled in inScope: true exactly when null or empty
	{"IS TRUE", fixed(anyValue(func(s string) bool { return strings.EqualFold(s, "true") })), false},
	{"NOT EQUALS", func(value string) (operator, error) {
		return noValue(func(s string) bool { return s == value }), nil
	}, true},
	{"NOT REGEX MATCH", regexMatch(true), true},
	{"REGEX MATCH", regexMatch(false), true},
}

func operatorKey(name string) string {
	return strings.ToUpper(strings.Join(strings.Fields(strings.ReplaceAll(name, "_", " ")), " "))
}

func lookupOperator(name string) (operatorDef, bool) {
	k := operatorKey(name)
	for _, op := range operators {
		if operatorKey(op.name) == k {
			return op, true
		}
	}
	return operatorDef{}, false
}

// OperatorNames lists the scoping operators as Microsoft spells them.
func OperatorNames() []string {
	out := make([]string, len(operators))
	for i, op := range operators {
		out[i] = op.name
	}
	sort.Strings(out)
	return out
}

// group is a compiled scoping filter; clauses are AND-ed.
type group struct {
	name    string
	clauses []clause
}

type clause struct {
	attribute string
	text      string // for reasons: `employeeType EQUALS "Partner"`
	isNull    bool
	eval      operator
}

// nonEmpty returns the values that are not empty strings: the docs treat
// null and empty alike ("scoping filters will return false if the value is
// null / empty").
func nonEmpty(v []string) []string {
	for _, s := range v {
		if s == "" {
			out := make([]string, 0, len(v))
			for _, s := range v {
				if s != "" {
					out = append(out, s)
				}
			}
			return out
		}
	}
	return v
}

func (c clause) holds(e source.Entry) bool {
	v := nonEmpty(e.Values(c.attribute))
	if c.isNull {
		return len(v) == 0
	}
	return len(v) > 0 && c.eval(v)
}

// inScope reports whether e passes the scope, and if not, why: the first
// failing clause of each filter. An empty scope takes every entry.
func inScope(groups []group, e source.Entry) (bool, string) {
	if len(groups) == 0 {
		return true, ""
	}
	var why []string
	for _, g := range groups {
		failed := ""
		for _, c := range g.clauses {
			if !c.holds(e) {
				failed = fmt.Sprintf("%s is false (value %s)", c.text, describe(e.Values(c.attribute), e.Has(c.attribute)))
				break
			}
		}
		if failed == "" {
			return true, ""
		}
		if g.name != "" {
			failed = g.name + ": " + failed
		}
		why = append(why, failed)
	}
	return false, "out of scope: " + strings.Join(why, "; ")
}

// describe shows an attribute's values in a reason, bounded however many
// and long they are: the reason goes into plans and reports.
func describe(v []string, present bool) string {
	switch {
	case !present:
		return "null"
	case len(v) == 1:
		return expr.QuoteValue(v[0])
	}
	return "[" + expr.ListValues(v) + "]"
}
