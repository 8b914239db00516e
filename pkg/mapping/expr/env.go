package expr

import "strings"

// Env supplies attribute values to an evaluation. Attribute names in
// expressions are case-insensitive, and matching them is the Env's job.
// Returning (nil, false) means the attribute is absent: Null.
type Env interface {
	Attribute(name string) ([]string, bool)
}

// EnvFunc adapts a function to Env.
type EnvFunc func(name string) ([]string, bool)

// Attribute calls f.
func (f EnvFunc) Attribute(name string) ([]string, bool) { return f(name) }

// MapEnv is an Env backed by a map, looked up case-insensitively. It is
// meant for tests and small tools; a directory entry should implement Env
// itself.
type MapEnv map[string][]string

// Attribute returns the values of name, matching keys case-insensitively.
func (m MapEnv) Attribute(name string) ([]string, bool) {
	if v, ok := m[name]; ok {
		return v, true
	}
	for k, v := range m {
		if strings.EqualFold(k, name) {
			return v, true
		}
	}
	return nil, false
}
