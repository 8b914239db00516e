package mapping

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/guestsync/guestsync/pkg/source"
)

// operator evaluates one scoping clause against an attribute's values. A
// missing attribute is Null, and Null makes every clause false except IS
// NULL ("Scoping filters for user provisioning": clauses on a null attribute
// evaluate to false).
type operator func(values []string, present bool) bool

// group is a compiled scoping filter; clauses are AND-ed.
type group struct {
	name    string
	clauses []clause
}

type clause struct {
	attribute string
	text      string // for reasons: `employeeType EQUALS "Partner"`
	eval      operator
}

// compileOperator builds the clause function for an Entra scoping operator
// name (case-insensitive, as typed in the Entra portal).
func compileOperator(op, value string) (operator, error) {
	switch strings.ToUpper(strings.TrimSpace(op)) {
	case "EQUALS":
		// Documented: true if the attribute matches the string value
		// exactly (case-sensitive). A multi-valued attribute matches when
		// any of its values does.
		return func(v []string, present bool) bool {
			return present && anyOf(v, func(s string) bool { return s == value })
		}, nil
	case "NOT EQUALS":
		return func(v []string, present bool) bool {
			return present && !anyOf(v, func(s string) bool { return s == value })
		}, nil
	case "IS NULL":
		return func(v []string, present bool) bool { return !present || allEmpty(v) }, nil
	case "IS NOT NULL":
		return func(v []string, present bool) bool { return present && !allEmpty(v) }, nil
	case "IS TRUE":
		return func(v []string, present bool) bool {
			return present && anyOf(v, func(s string) bool { return strings.EqualFold(s, "true") })
		}, nil
	case "IS FALSE":
		return func(v []string, present bool) bool {
			return present && anyOf(v, func(s string) bool { return strings.EqualFold(s, "false") })
		}, nil
	case "REGEX MATCH", "NOT REGEX MATCH":
		re, err := regexp.Compile(value)
		if err != nil {
			return nil, fmt.Errorf("invalid regular expression %q: %v", value, err)
		}
		negate := strings.HasPrefix(strings.ToUpper(op), "NOT")
		return func(v []string, present bool) bool {
			return present && anyOf(v, re.MatchString) != negate
		}, nil
	}
	return nil, fmt.Errorf("unknown scoping operator %q (this version knows EQUALS, NOT EQUALS, IS NULL, IS NOT NULL, IS TRUE, IS FALSE, REGEX MATCH, NOT REGEX MATCH)", op)
}

func anyOf(values []string, f func(string) bool) bool {
	for _, v := range values {
		if f(v) {
			return true
		}
	}
	return false
}

func allEmpty(values []string) bool {
	for _, v := range values {
		if v != "" {
			return false
		}
	}
	return true
}

// inScope reports whether e passes the scope, and if not, why: the first
// failing clause of each group. An empty scope takes every entry.
func inScope(groups []group, e source.Entry) (bool, string) {
	if len(groups) == 0 {
		return true, ""
	}
	var why []string
	for _, g := range groups {
		failed := ""
		for _, c := range g.clauses {
			v := e.Values(c.attribute)
			if !c.eval(v, e.Has(c.attribute)) {
				failed = fmt.Sprintf("%s is false (value %s)", c.text, describe(v, e.Has(c.attribute)))
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

func describe(v []string, present bool) string {
	switch {
	case !present:
		return "null"
	case len(v) == 1:
		return fmt.Sprintf("%q", v[0])
	}
	return fmt.Sprintf("%q", v)
}
