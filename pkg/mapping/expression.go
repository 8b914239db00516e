package mapping

import (
	"errors"
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/guestsync/guestsync/pkg/mapping/expr"
	"github.com/guestsync/guestsync/pkg/source"
	"github.com/guestsync/guestsync/pkg/yamlfile"
)

// entryEnv lets expressions read an entry's attributes, case-insensitively
// as LDAP names are. It is a pointer in the Env interface so that building
// it once per entry costs one small allocation, not one per flow.
type entryEnv struct{ source.Entry }

func (e *entryEnv) Attribute(name string) ([]string, bool) {
	v := e.Values(name)
	if v == nil && !e.Has(name) {
		// [dn] is the entry's DN, as in Entra's documented
		// DNComponent([dn], 1), unless the directory has an attribute
		// of that name.
		if strings.EqualFold(name, "dn") && e.DN != "" {
			return []string{e.DN}, true
		}
		return nil, false
	}
	return v, true
}

// compileExpression compiles a flow's expression, reporting its errors at
// their position in the mapping file.
func (c *compiler) compileExpression(i int, src string) (*expr.Expr, evalFunc, bool) {
	x, err := expr.Compile(src)
	if err != nil {
		node := child(child(child(c.doc, "flows"), i), "expression")
		path := fmt.Sprintf("flows[%d].expression", i)
		var list []*expr.Error
		var one *expr.Error
		if errors.As(err, &one) {
			list = append(list, one)
		}
		if joined, ok := err.(interface{ Unwrap() []error }); ok {
			list = list[:0]
			for _, e := range joined.Unwrap() {
				if errors.As(e, &one) {
					list = append(list, one)
				}
			}
		}
		if len(list) == 0 {
			c.problems = append(c.problems, yamlfile.At(c.file, node, path, "%v", err))
		}
		for _, e := range list {
			p := yamlfile.At(c.file, node, path, "%s", e.Msg)
			p.Line, p.Col = c.position(node, e.Line, e.Col)
			c.problems = append(c.problems, p)
		}
		return nil, nil, false
	}
	return x, func(_ source.Entry, env expr.Env, ev *expr.Evaluator) (outcome, error) {
		v, err := ev.Eval(x, env)
		switch {
		case err != nil:
			return outcome{}, err
		case v.Ignored():
			return outcome{ignore: true}, nil
		case v.IsNull():
			return outcome{null: true}, nil
		case !v.IsMulti():
			if s, ok := v.Text(); ok {
				return outcome{single: s, hasSingle: true}, nil
			}
		}
		return outcome{values: v.Strings()}, nil
	}, true
}

// position maps a line:col inside an expression to the mapping file.
func (c *compiler) position(n *yaml.Node, line, col int) (int, int) {
	if n == nil {
		return 0, 0
	}
	switch n.Style {
	case yaml.LiteralStyle, yaml.FoldedStyle:
		// Block scalars start on the line after the indicator; columns
		// shift by the block's indentation.
		fileLine := n.Line + line
		indent := 0
		if fileLine-1 < len(c.lines) {
			l := c.lines[fileLine-1]
			indent = len(l) - len(strings.TrimLeft(l, " "))
		}
		return fileLine, indent + col
	case yaml.DoubleQuotedStyle, yaml.SingleQuotedStyle:
		if line == 1 {
			return n.Line, n.Column + col
		}
	default:
		if line == 1 {
			return n.Line, n.Column + col - 1
		}
	}
	return n.Line + line - 1, col
}
