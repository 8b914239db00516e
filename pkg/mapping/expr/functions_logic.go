package expr

// Conditions, null tests and program flow.

func logicFunctions() []*function {
	return []*function{
		{
			name:   "IIF",
			params: []param{{name: "condition"}, {name: "valueIfTrue"}, {name: "valueIfFalse"}},
			passes: true,
			eval: func(x evalCtx, c *call) (Value, error) {
				cond, err := x.arg(c, 0)
				if err != nil {
					return Value{}, err
				}
				b, err := toBool(cond)
				if err != nil {
					return Value{}, err
				}
				if b {
					return x.arg(c, 1)
				}
				return x.arg(c, 2)
			},
		},
		{
			// Switch(source, defaultValue, key1, value1, ...): a case-sensitive
			// string comparison of source with each key. A Null source (or key)
			// compares as "", as Microsoft recommends Switch([x], [x], "", "Other")
			// to catch an empty or absent attribute. Only the chosen value is
			// evaluated.
			name: "Switch",
			params: []param{
				{name: "source"}, {name: "defaultValue", optional: true},
				{name: "key"}, {name: "value"},
			},
			repeat: 2,
			passes: true,
			eval: func(x evalCtx, c *call) (Value, error) {
				src, err := x.arg(c, 0)
				if err != nil {
					return Value{}, err
				}
				s := text(src)
				for i := 2; i+1 < len(c.args); i += 2 {
					key, err := x.arg(c, i)
					if err != nil {
						return Value{}, err
					}
					if text(key) == s {
						return x.arg(c, i+1)
					}
				}
				return x.arg(c, 1)
			},
		},
		{
			// Coalesce(source1, ..., defaultValue): the first argument that is
			// not Null. An empty string is not Null, so it is returned.
			name:   "Coalesce",
			params: []param{{name: "source"}},
			repeat: 1,
			passes: true,
			eval: func(x evalCtx, c *call) (Value, error) {
				for i := range c.args {
					v, err := x.arg(c, i)
					if err != nil || !v.IsNull() {
						return v, err
					}
				}
				return Value{}, nil
			},
		},
		predicate("IsNull", "Expression", func(v Value) bool { return v.kind == KindNull }),
		predicate("IsNullOrEmpty", "Expression", isNullOrEmpty),
		predicate("IsPresent", "Expression", func(v Value) bool { return !isNullOrEmpty(v) }),
		// IsString: "used to determine if CStr() can be successful", and CStr
		// takes numbers, references and Booleans: anything but Null.
		predicate("IsString", "Expression", func(v Value) bool { return v.kind != KindNull }),
		// Not: documented as "if source is True, returns False; otherwise
		// returns True", so anything but True (or "True") gives True.
		predicate("Not", "source", func(v Value) bool {
			if b, ok := v.Bool(); ok {
				return !b
			}
			return !(v.kind == KindString && equalFoldASCII(v.s, "True"))
		}),
		{
			name:   "CBool",
			params: []param{{name: "Expression"}},
			eval: func(x evalCtx, c *call) (Value, error) {
				v, err := x.arg(c, 0)
				if err != nil {
					return Value{}, err
				}
				b, err := toBool(v)
				return Bool(b), err
			},
		},
		{
			name:   "IgnoreFlowIfNullOrEmpty",
			params: []param{{name: "expression"}},
			passes: true,
			eval: func(x evalCtx, c *call) (Value, error) {
				v, err := x.arg(c, 0)
				if err == nil && isNullOrEmpty(v) {
					err = errIgnoreFlow
				}
				return v, err
			},
		},
		{
			// Error(message) fails the evaluation with the message as is; the
			// *Error wraps ErrRaised.
			name:   "Error",
			params: []param{{name: "ErrorMessage"}},
			eval: func(x evalCtx, c *call) (Value, error) {
				v, err := x.arg(c, 0)
				if err != nil {
					return Value{}, err
				}
				msg, ok := v.Text()
				if !ok || msg == "" {
					msg = "Error called without a message"
				}
				return Value{}, &raisedError{msg: msg}
			},
		},
	}
}

// predicate makes a one-argument function returning a Boolean.
func predicate(name, paramName string, f func(Value) bool) *function {
	return &function{
		name:   name,
		params: []param{{name: paramName}},
		eval: func(x evalCtx, c *call) (Value, error) {
			v, err := x.arg(c, 0)
			if err != nil {
				return Value{}, err
			}
			return Bool(f(v)), nil
		},
	}
}

// isNullOrEmpty: Null or the empty string. A multi-valued attribute has
// values, so it is not empty.
func isNullOrEmpty(v Value) bool {
	return v.kind == KindNull || (v.kind == KindString && v.s == "")
}

func equalFoldASCII(s, t string) bool {
	if len(s) != len(t) {
		return false
	}
	for i := 0; i < len(s); i++ {
		a, b := s[i], t[i]
		if 'A' <= a && a <= 'Z' {
			a += 'a' - 'A'
		}
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		if a != b {
			return false
		}
	}
	return true
}
