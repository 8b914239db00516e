package expr

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// This file holds the conversions between kinds. Where Microsoft's
// documentation is silent they follow VB's Variant rules, the language the
// expression syntax is modelled on.

// text returns v as a string, "" for Null (VB: Null & "" is "").
func text(v Value) string {
	s, _ := v.Text()
	return s
}

// mapText applies f to every value of v: a multi-valued input gives a
// multi-valued output, as Microsoft documents for Trim([proxyAddresses]).
// Null stays Null; integers, Booleans and date/times become strings. It
// is for functions whose result is about as long as their input, so the
// input is checked against the limits before f runs.
func mapText(x evalCtx, v Value, f func(string) string) (Value, error) {
	return mapTextErr(x, v, func(s string) (string, error) { return f(s), nil })
}

// mapTextErr is mapText for a function that can fail.
func mapTextErr(x evalCtx, v Value, f func(string) (string, error)) (Value, error) {
	if err := x.fits(sizeOf(v)); err != nil {
		return Value{}, err
	}
	return mapEach(x, v, f)
}

// mapTextOrEmpty is mapText for the functions documented to return "" for
// a Null string (Left, Mid, Word). Their results are parts of their input,
// which they do not copy, so only the number of values is checked first.
func mapTextOrEmpty(x evalCtx, v Value, f func(string) string) (Value, error) {
	if v.kind == KindNull {
		return String(""), nil
	}
	if err := x.fits(size{values: sizeOf(v).values}); err != nil {
		return Value{}, err
	}
	return mapEach(x, v, func(s string) (string, error) { return f(s), nil })
}

// mapEach applies f to each value of v. What it has built so far counts
// against the evaluation's budget as it goes: f may make every value
// longer than its input (Replace of a short match by a long text), and
// the limits must stop a long list before it is built, not after.
func mapEach(x evalCtx, v Value, f func(string) (string, error)) (Value, error) {
	switch v.kind {
	case KindNull, KindIgnored:
		return v, nil
	case KindMulti:
		out := make([]string, len(v.mv))
		built := size{values: len(v.mv)}
		for i, s := range v.mv {
			r, err := f(s)
			if err != nil {
				return Value{}, err
			}
			built.bytes += len(r)
			built.longest = max(built.longest, len(r))
			if err := x.fits(built); err != nil {
				return Value{}, err
			}
			out[i] = r
		}
		return Multi(out), nil
	}
	r, err := f(text(v))
	if err != nil {
		return Value{}, err
	}
	return String(r), nil
}

// single returns the one value of a multi-valued v, or v itself; it fails
// for several values where one is needed.
func single(v Value) (Value, error) {
	if v.kind != KindMulti {
		return v, nil
	}
	if len(v.mv) == 1 {
		return String(v.mv[0]), nil
	}
	return Value{}, fmt.Errorf("expected a single value, got %d values", len(v.mv))
}

// toBool converts v to a Boolean. Documented: a non-zero number is True.
// Null is False (Microsoft documents that a condition on an absent
// attribute fails). Strings "True"/"False" in any case and integer strings
// convert as in VB; any other string is an error (VB: type mismatch).
func toBool(v Value) (bool, error) {
	if v.kind == KindBool {
		return v.n != 0, nil
	}
	v, err := single(v)
	if err != nil {
		return false, err
	}
	switch v.kind {
	case KindNull:
		return false, nil
	case KindBool, KindInt:
		return v.n != 0, nil
	case KindString:
		s := strings.TrimSpace(v.s)
		switch {
		case s == "", strings.EqualFold(s, "false"):
			return false, nil
		case strings.EqualFold(s, "true"):
			return true, nil
		}
		if n, ok := parseInt(s); ok {
			return n != 0, nil
		}
		return false, fmt.Errorf("cannot convert %s to a Boolean", QuoteValue(v.s))
	}
	return false, fmt.Errorf("cannot convert a %s to a Boolean", v.kind)
}

// toInt converts v to an integer: integers, decimal or &H strings (with
// spaces around, as VB's CLng allows), and Booleans as VB does (True is -1).
func toInt(v Value) (int64, bool) {
	if v.kind == KindMulti && len(v.mv) == 1 {
		v = String(v.mv[0])
	}
	switch v.kind {
	case KindInt:
		return v.n, true
	case KindBool:
		return -v.n, true
	case KindString:
		return parseInt(strings.TrimSpace(v.s))
	}
	return 0, false
}

// intArg evaluates argument i of c as an integer, failing with the
// parameter's name when it is not one.
func intArg(x evalCtx, c *call, i int) (int64, error) {
	v, err := x.arg(c, i)
	if err != nil {
		return 0, err
	}
	n, ok := toInt(v)
	if !ok {
		return 0, fmt.Errorf("%s must be a whole number, got %s", c.fn.param(i).name, v)
	}
	return n, nil
}

func parseInt(s string) (int64, bool) {
	if len(s) > 2 && s[0] == '&' && (s[1] == 'H' || s[1] == 'h') {
		n, err := strconv.ParseUint(s[2:], 16, 64)
		return int64(n), err == nil && n <= 1<<63-1
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// compareValues applies a comparison operator. Any comparison with Null is
// False (a condition on an absent attribute fails, as documented for IIF).
// For a multi-valued side the comparison holds if it holds for any value
// (as in an LDAP filter), and <> is the negation of =. Values are then
// compared as strings, a total order, so "some a < some b" is
// "min(a) < max(b)": the work grows with the number of values, not with
// their product.
//
// The Values are passed by pointer: two of them do not fit in registers.
func compareValues(op tokenKind, l, r *Value) bool {
	if l.kind == KindNull || r.kind == KindNull {
		return false
	}
	if l.kind == KindMulti || r.kind == KindMulti {
		ls, rs := l.Strings(), r.Strings()
		switch op {
		case tokEq:
			return anyEqual(ls, rs)
		case tokNe:
			return !anyEqual(ls, rs)
		case tokLt:
			return slices.Min(ls) < slices.Max(rs)
		case tokLe:
			return slices.Min(ls) <= slices.Max(rs)
		case tokGt:
			return slices.Max(ls) > slices.Min(rs)
		}
		return slices.Max(ls) >= slices.Min(rs)
	}
	var c int
	if l.kind == KindString && r.kind == KindString {
		c = strings.Compare(l.s, r.s)
	} else {
		c = compareScalars(l, r)
	}
	switch op {
	case tokEq:
		return c == 0
	case tokNe:
		return c != 0
	case tokLt:
		return c < 0
	case tokLe:
		return c <= 0
	case tokGt:
		return c > 0
	}
	return c >= 0
}

// anyEqual reports whether a and b have a value in common.
func anyEqual(a, b []string) bool {
	if len(a) > len(b) {
		a, b = b, a
	}
	if len(a) <= 8 {
		for _, s := range b {
			if slices.Contains(a, s) {
				return true
			}
		}
		return false
	}
	set := make(map[string]struct{}, len(a))
	for _, s := range a {
		set[s] = struct{}{}
	}
	for _, s := range b {
		if _, ok := set[s]; ok {
			return true
		}
	}
	return false
}

// compareScalars compares numerically when both sides are integers, or
// one is an integer and the other a string holding one (VB's rule for
// Variants); date/times by time; Booleans as VB (True, -1, is less than
// False, 0); anything else as strings, ordinal and case-sensitive (VB's
// default Option Compare Binary, and Switch's documented comparison).
func compareScalars(l, r *Value) int {
	switch {
	case l.kind == KindInt && r.kind == KindInt,
		l.kind == KindBool && r.kind == KindBool,
		l.kind == KindDateTime && r.kind == KindDateTime:
		ln, _ := toInt(*l)
		rn, _ := toInt(*r)
		if l.kind == KindDateTime {
			ln, rn = l.n, r.n
		}
		return cmp.Compare(ln, rn)
	case l.kind == KindInt && r.kind == KindString, l.kind == KindString && r.kind == KindInt:
		ln, lok := toInt(*l)
		rn, rok := toInt(*r)
		if lok && rok {
			return cmp.Compare(ln, rn)
		}
	}
	return strings.Compare(text(*l), text(*r))
}

// appendValues is Append and the & operator: VB's &, in which Null is ""
// unless both sides are Null. A multi-valued source gets the suffix on
// every value.
// The size of the result is known beforehand and checked first.
func appendValues(x evalCtx, src, suffix Value) (Value, error) {
	if src.kind == KindNull && suffix.kind == KindNull {
		return Value{}, nil
	}
	sfx := text(suffix)
	if src.kind == KindNull {
		return String(sfx), nil
	}
	s := sizeOf(src)
	if err := x.fits(size{s.values, s.bytes + s.values*len(sfx), s.longest + len(sfx)}); err != nil {
		return Value{}, err
	}
	return mapEach(x, src, func(s string) (string, error) { return s + sfx, nil })
}
