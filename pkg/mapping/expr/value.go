package expr

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Kind says what a Value holds.
type Kind uint8

// The kinds of Value. The zero Value is Null.
const (
	KindNull     Kind = iota // no value: an absent attribute, an omitted argument
	KindString               // one string, possibly ""
	KindMulti                // a multi-valued attribute or the result of Split
	KindInt                  // a 64-bit integer (literals, InStr, Count, BitAnd, ...)
	KindBool                 // True or False (IsNull, comparisons, ...)
	KindDateTime             // a UTC date/time (CDate, Now, DateFromNum, ...)
	KindIgnored              // IgnoreFlowIfNullOrEmpty asked to drop the attribute from the flow
)

func (k Kind) String() string {
	switch k {
	case KindNull:
		return "Null"
	case KindString:
		return "String"
	case KindMulti:
		return "Multi"
	case KindInt:
		return "Int"
	case KindBool:
		return "Bool"
	case KindDateTime:
		return "DateTime"
	case KindIgnored:
		return "Ignored"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Value is the result of evaluating an expression or a sub-expression. It
// is small and passed by value. Null is distinct from the empty string, and
// a multi-valued Value keeps every value.
type Value struct {
	kind Kind
	s    string   // KindString
	n    int64    // KindInt; KindBool (0 or 1); KindDateTime (.NET ticks, UTC)
	mv   []string // KindMulti, never empty
}

// Null returns the Null value.
func Null() Value { return Value{} }

// String returns a single-valued string.
func String(s string) Value { return Value{kind: KindString, s: s} }

// Multi returns a multi-valued value holding v (not copied: do not modify v
// afterwards). An empty or nil v is Null.
func Multi(v []string) Value {
	if len(v) == 0 {
		return Value{}
	}
	return Value{kind: KindMulti, mv: v}
}

// Int returns an integer value.
func Int(n int64) Value { return Value{kind: KindInt, n: n} }

// Bool returns a Boolean value.
func Bool(b bool) Value {
	if b {
		return Value{kind: KindBool, n: 1}
	}
	return Value{kind: KindBool}
}

// ticksAtUnixEpoch is 1970-01-01 in .NET ticks (100 ns since 0001-01-01):
// date/times are kept as .NET does so that the AD date functions
// (DateFromNum, NumFromDate) are exact integer arithmetic.
const ticksAtUnixEpoch = 621355968000000000

// DateTime returns a date/time value, converted to UTC and truncated to
// 100 ns as in .NET.
func DateTime(t time.Time) Value {
	t = t.UTC()
	return Value{kind: KindDateTime, n: t.Unix()*1e7 + int64(t.Nanosecond()/100) + ticksAtUnixEpoch}
}

// ignored is what IgnoreFlowIfNullOrEmpty makes the whole expression return.
func ignored() Value { return Value{kind: KindIgnored} }

// Kind returns what v holds.
func (v Value) Kind() Kind { return v.kind }

// IsNull reports whether v is Null.
func (v Value) IsNull() bool { return v.kind == KindNull }

// IsMulti reports whether v is multi-valued.
func (v Value) IsMulti() bool { return v.kind == KindMulti }

// Ignored reports whether the expression asked, through
// IgnoreFlowIfNullOrEmpty, that the target attribute be left out of the
// flow altogether (neither set nor cleared).
func (v Value) Ignored() bool { return v.kind == KindIgnored }

// Strings returns every value as text: nil for Null (and Ignored), one
// element for a single value, all of them for a multi-valued value. The
// slice of a multi-valued value is shared: do not modify it.
func (v Value) Strings() []string {
	switch v.kind {
	case KindNull, KindIgnored:
		return nil
	case KindMulti:
		return v.mv
	}
	s, _ := v.Text()
	return []string{s}
}

// Text returns v as one string, and false when v is Null (or Ignored).
// Integers are in decimal, Booleans are "True" or "False" (as .NET renders
// them), date/times are "M/d/yyyy h:mm:ss tt" in UTC as documented for Now
// and CDate. For a multi-valued value Text returns the first value: check
// IsMulti where a single value is required.
func (v Value) Text() (string, bool) {
	switch v.kind {
	case KindString:
		return v.s, true
	case KindMulti:
		return v.mv[0], true
	case KindInt:
		return strconv.FormatInt(v.n, 10), true
	case KindBool:
		if v.n != 0 {
			return "True", true
		}
		return "False", true
	case KindDateTime:
		return v.time().Format("1/2/2006 3:04:05 PM"), true
	}
	return "", false
}

// Int returns the integer held by v, and false when v is not an integer.
func (v Value) Int() (int64, bool) { return v.n, v.kind == KindInt }

// Bool returns the Boolean held by v, and false when v is not a Boolean.
func (v Value) Bool() (bool, bool) { return v.n != 0, v.kind == KindBool }

// Time returns the date/time held by v (UTC), and false when v is not a
// date/time.
func (v Value) Time() (time.Time, bool) {
	if v.kind != KindDateTime {
		return time.Time{}, false
	}
	return v.time(), true
}

func (v Value) time() time.Time {
	ticks := v.n - ticksAtUnixEpoch
	sec, rem := ticks/1e7, ticks%1e7
	if rem < 0 {
		sec, rem = sec-1, rem+1e7
	}
	return time.Unix(sec, rem*100).UTC()
}

// String renders v for messages, debugging and test failures: Null,
// Ignored, a quoted string, or a bracketed list of quoted strings. It is
// bounded however large v is: a long string shows its first characters
// and its length (QuoteValue), a long list its first values and how many
// more there are.
func (v Value) String() string {
	switch v.kind {
	case KindNull:
		return "Null"
	case KindIgnored:
		return "Ignored"
	case KindString:
		return QuoteValue(v.s)
	case KindMulti:
		var b strings.Builder
		b.WriteByte('[')
		for i, s := range v.mv {
			if i == maxShown {
				fmt.Fprintf(&b, ", and %s more", count(len(v.mv)-maxShown))
				break
			}
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(QuoteValue(s))
		}
		b.WriteByte(']')
		return b.String()
	}
	s, _ := v.Text()
	return s
}

// attributeValue converts what an Env returned into a Value: absent or
// without values is Null, one value is a string, more are multi-valued.
func attributeValue(vals []string, ok bool) Value {
	switch {
	case !ok || len(vals) == 0:
		return Value{}
	case len(vals) == 1:
		return String(vals[0])
	}
	return Multi(vals)
}
