package expr

import (
	"fmt"
	"strings"
)

// Functions on multi-valued attributes.

func collectionFunctions() []*function {
	return []*function{
		{
			// Count(attribute): the number of values; 0 for Null, 1 for a
			// single value.
			name:   "Count",
			params: []param{{name: "attribute"}},
			eval: func(x evalCtx, c *call) (Value, error) {
				v, err := x.arg(c, 0)
				return Int(int64(len(v.Strings()))), err
			},
		},
		{
			// Item(attribute, index): the value at a 1-based index. Documented
			// to throw when the index is out of bounds; a Null attribute gives
			// Null rather than an error, so that absent attributes flow as
			// absent.
			name:   "Item",
			params: []param{{name: "attribute"}, {name: "index"}},
			passes: true,
			eval: func(x evalCtx, c *call) (Value, error) {
				v, err := x.arg(c, 0)
				if err != nil {
					return Value{}, err
				}
				i, err := intArg(x, c, 1)
				if err != nil || v.kind == KindNull {
					return Value{}, err
				}
				vals := v.Strings()
				if i < 1 || i > int64(len(vals)) {
					return Value{}, fmt.Errorf("index %d is out of bounds (1 to %d)", i, len(vals))
				}
				return String(vals[i-1]), nil
			},
		},
		{
			// RemoveDuplicates(attribute): each value once, in the order of
			// first appearance. Values are compared exactly (case-sensitive,
			// as .NET's default string comparison): "SMTP:a@x" and "smtp:a@x"
			// mean different things in proxyAddresses. A single value or Null
			// is returned as it is.
			name:   "RemoveDuplicates",
			params: []param{{name: "attribute"}},
			eval: func(x evalCtx, c *call) (Value, error) {
				v, err := x.arg(c, 0)
				if err != nil || v.kind != KindMulti {
					return v, err
				}
				if err := x.fits(sizeOf(v)); err != nil {
					return Value{}, err
				}
				seen := make(map[string]struct{}, len(v.mv))
				out := make([]string, 0, len(v.mv))
				for _, s := range v.mv {
					if _, dup := seen[s]; !dup {
						seen[s] = struct{}{}
						out = append(out, s)
					}
				}
				return Multi(out), nil
			},
		},
		{
			// Split(source, delimiter) makes a multi-valued result. Values are
			// trimmed of white space: Microsoft's example splits
			// "PermissionSetOne, PermissionSetTwo" on "," into
			// ["PermissionSetOne", "PermissionSetTwo"]. Empty values are kept,
			// as .NET's String.Split keeps them. A multi-valued source is split
			// value by value; an empty delimiter does not split.
			name:   "Split",
			params: []param{{name: "source"}, {name: "delimiter"}},
			eval: func(x evalCtx, c *call) (Value, error) {
				src, delim, err := args2(x, c)
				if err != nil || src.kind == KindNull {
					return Value{}, err
				}
				d := text(delim)
				// The size of the result is known before it is built:
				// parts of the input, one more than the delimiters.
				vals, n := src.Strings(), 0
				for _, s := range vals {
					n++
					if d != "" {
						n += strings.Count(s, d)
					}
				}
				in := sizeOf(src)
				if err := x.fits(size{n, in.bytes, in.longest}); err != nil {
					return Value{}, err
				}
				out := make([]string, 0, n)
				for _, s := range vals {
					if d == "" {
						out = append(out, strings.TrimSpace(s))
						continue
					}
					for part := range strings.SplitSeq(s, d) {
						out = append(out, strings.TrimSpace(part))
					}
				}
				return Multi(out), nil
			},
		},
	}
}
