// Package yamlfile decodes YAML files strictly: every key must be known to
// the destination struct, and every problem is reported at once with its
// file, line and column, so that an admin fixes a config or mapping file in
// one pass instead of one error per run.
package yamlfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// Problem is one thing wrong in a file, at a position when one is known.
type Problem struct {
	File string `json:"file"`
	Line int    `json:"line,omitempty"`
	Col  int    `json:"col,omitempty"`
	// Path is the dotted key path, when the problem is about a key.
	Path string `json:"path,omitempty"`
	Msg  string `json:"message"`
}

func (p Problem) Error() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		fmt.Fprintf(&b, ":%d", p.Line)
		if p.Col > 0 {
			fmt.Fprintf(&b, ":%d", p.Col)
		}
	}
	b.WriteString(": ")
	if p.Path != "" {
		b.WriteString(p.Path + ": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// Problems is a list of problems that is itself an error.
type Problems []Problem

func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.Error()
	}
	return strings.Join(lines, "\n")
}

// Err returns nil for an empty list, so callers can `return ps.Err()`.
func (ps Problems) Err() error {
	if len(ps) == 0 {
		return nil
	}
	ps.Sort()
	return ps
}

// Sort orders problems by file and position.
func (ps Problems) Sort() {
	sort.SliceStable(ps, func(i, j int) bool {
		a, b := ps[i], ps[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
}

// AsProblems extracts the problems from an error returned by this package
// or wrapping Problems; any other error becomes one problem in file.
func AsProblems(file string, err error) Problems {
	if err == nil {
		return nil
	}
	var ps Problems
	if errors.As(err, &ps) {
		return ps
	}
	var p Problem
	if errors.As(err, &p) {
		return Problems{p}
	}
	return Problems{{File: file, Msg: err.Error()}}
}

// At builds a problem positioned at a YAML node.
func At(file string, n *yaml.Node, path, format string, args ...any) Problem {
	p := Problem{File: file, Path: path, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		p.Line, p.Col = n.Line, n.Column
	}
	return p
}

// Decode parses data into v, which must be a pointer to a struct whose
// fields carry `yaml` tags. It returns the document's root node (for
// callers that want positions of values) and every problem found: syntax
// errors, unknown keys (with a suggestion), type mismatches, and a second
// document (the decoders read the first only, so whatever follows a "---"
// would be silently ignored). The node is nil when there is no document to
// check further (a syntax error, an empty file).
func Decode(file string, data []byte, v any) (*yaml.Node, Problems) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var root yaml.Node
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, Problems{{File: file, Line: 1, Msg: "the file is empty"}}
		}
		return nil, Problems{syntaxProblem(file, err)}
	}
	if len(root.Content) == 0 {
		return nil, Problems{{File: file, Line: 1, Msg: "the file is empty"}}
	}
	doc := root.Content[0]
	var ps Problems
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case errors.Is(err, io.EOF):
	case err != nil:
		ps = append(ps, syntaxProblem(file, err))
	default:
		ps = append(ps, Problem{File: file, Line: next.Line, Msg: "a second YAML document: the file must hold one document (remove the \"---\" line and what follows, or merge it into the first)"})
	}
	checkKeys(file, doc, reflect.TypeOf(v).Elem(), "", &ps)
	if err := doc.Decode(v); err != nil {
		ps = append(ps, typeProblems(file, err)...)
	}
	ps.Sort()
	return doc, ps
}

var lineRE = regexp.MustCompile(`(?s)^(?:yaml: )?line (\d+): (.*)$`)

func syntaxProblem(file string, err error) Problem {
	msg := err.Error()
	if m := lineRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return Problem{File: file, Line: line, Msg: "YAML syntax: " + m[2]}
	}
	return Problem{File: file, Msg: "YAML syntax: " + strings.TrimPrefix(msg, "yaml: ")}
}

func typeProblems(file string, err error) Problems {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		// The decoder's other errors are about the document's structure
		// (a merge of a scalar, an alias that contains itself).
		return Problems{syntaxProblem(file, err)}
	}
	var ps Problems
	for _, e := range te.Errors {
		if m := lineRE.FindStringSubmatch(e); m != nil {
			line, _ := strconv.Atoi(m[1])
			ps = append(ps, Problem{File: file, Line: line, Msg: m[2]})
			continue
		}
		ps = append(ps, Problem{File: file, Msg: e})
	}
	return ps
}

// checkKeys walks a node against a Go type and reports mapping keys that the
// type does not declare.
func checkKeys(file string, n *yaml.Node, t reflect.Type, path string, ps *Problems) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			return // the decoder reports the type mismatch
		}
		// The keys a merge (<<) brings in are checked against the type
		// they are merged into, as the decoder will use them there.
		fields := yamlFields(t)
		for _, p := range Pairs(n) {
			k, val := p.Key, p.Value
			ft, ok := fields[k.Value]
			if !ok {
				*ps = append(*ps, At(file, k, join(path, k.Value), "unknown key%s", suggest(k.Value, fields)))
				continue
			}
			checkKeys(file, val, ft, join(path, k.Value), ps)
		}
	case reflect.Slice, reflect.Array:
		if n.Kind != yaml.SequenceNode {
			return
		}
		for i, c := range n.Content {
			checkKeys(file, c, t.Elem(), fmt.Sprintf("%s[%d]", path, i), ps)
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			return
		}
		for _, p := range Pairs(n) {
			checkKeys(file, p.Value, t.Elem(), join(path, p.Key.Value), ps)
		}
	}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// yamlFields maps the YAML key of each field of struct t to its type,
// following inlined structs.
func yamlFields(t reflect.Type) map[string]reflect.Type {
	out := map[string]reflect.Type{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("yaml")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		if strings.Contains(opts, "inline") {
			for k, v := range yamlFields(f.Type) {
				out[k] = v
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out[name] = f.Type
	}
	return out
}

// KnownKeys returns the dotted paths of every leaf key a struct type
// declares (slices and maps end the path), in sorted order.
func KnownKeys(t reflect.Type) []string {
	var out []string
	var walk func(t reflect.Type, path string)
	walk = func(t reflect.Type, path string) {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || t.String() == "time.Duration" {
			out = append(out, path)
			return
		}
		for name, ft := range yamlFields(t) {
			walk(ft, join(path, name))
		}
	}
	walk(t, "")
	sort.Strings(out)
	return out
}

func suggest(key string, fields map[string]reflect.Type) string {
	best, bestD := "", 1<<30
	for k := range fields {
		d := Distance(strings.ToLower(key), strings.ToLower(k))
		if d < bestD || (d == bestD && k < best) {
			best, bestD = k, d
		}
	}
	if best != "" && bestD <= max(2, len(key)/3) {
		return fmt.Sprintf(" %q; did you mean %q?", key, best)
	}
	names := make([]string, 0, len(fields))
	for k := range fields {
		names = append(names, k)
	}
	sort.Strings(names)
	return fmt.Sprintf(" %q (known keys: %s)", key, strings.Join(names, ", "))
}

// Distance is the Levenshtein edit distance between a and b, in runes.
func Distance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
