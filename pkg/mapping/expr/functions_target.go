package expr

import (
	"errors"
	"fmt"
)

// Functions about the target rather than the value: SelectUniqueValue
// asks the tenant whether a value is free, and Redact keeps a value out of
// logs.

// ErrNoUniqueValue is wrapped by the *Error that SelectUniqueValue returns
// when every candidate is taken (or none has a value), so that a caller can
// hold the entry back, as Entra escrows it, rather than treat the mapping
// as broken.
var ErrNoUniqueValue = errors.New("no unique value")

// RedactedText is what logs, plans and reports show instead of the value
// of an expression that calls Redact.
const RedactedText = "[Redact]"

func targetFunctions() []*function {
	return []*function{
		{
			// SelectUniqueValue(uniqueValueRule1, uniqueValueRule2, ...): at
			// least two rules, no upper bound, and only as the whole
			// expression, as documented. Rules are evaluated in order, each
			// only if the ones before gave nothing unique; a rule that gives
			// Null or "" is skipped; the first value the Evaluator's Unique
			// reports free is the result.
			name:     "SelectUniqueValue",
			params:   []param{{name: "uniqueValueRule"}, {name: "uniqueValueRule"}},
			repeat:   1,
			topLevel: true,
			passes:   true,
			eval:     evalSelectUniqueValue,
		},
		{
			// Redact(value) returns the value unchanged; Expr.Redacts tells
			// the caller to show it as [Redact].
			name:   "Redact",
			params: []param{{name: "value"}},
			passes: true,
			eval: func(x evalCtx, c *call) (Value, error) {
				return x.arg(c, 0)
			},
		},
	}
}

func evalSelectUniqueValue(x evalCtx, c *call) (Value, error) {
	var taken []string
	for i := range c.args {
		v, err := x.arg(c, i)
		if err != nil {
			return Value{}, err
		}
		if v, err = single(v); err != nil {
			return Value{}, fmt.Errorf("uniqueValueRule%d: %w", i+1, err)
		}
		s, ok := v.Text()
		if !ok || s == "" {
			continue
		}
		free, err := x.unique(s)
		if err != nil {
			return Value{}, fmt.Errorf("check whether %s is unique: %w", QuoteValue(s), err)
		}
		if free {
			return v, nil
		}
		taken = append(taken, s)
	}
	switch len(taken) {
	case 0:
		return Value{}, fmt.Errorf("%w: no rule gave a value", ErrNoUniqueValue)
	case 1:
		return Value{}, fmt.Errorf("%w: %s is already taken", ErrNoUniqueValue, QuoteValue(taken[0]))
	}
	return Value{}, fmt.Errorf("%w: %s are all taken", ErrNoUniqueValue, ListValues(taken))
}
