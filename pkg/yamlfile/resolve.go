package yamlfile

import (
	"strings"

	"gopkg.in/yaml.v3"
)

// Pair is one key and its value in a mapping, as a decoder sees it.
type Pair struct {
	Key, Value *yaml.Node
}

// Pairs returns the key/value pairs of a mapping node the way a decoder
// sees them: aliases followed and merge keys (<<) expanded, as the YAML
// merge key type says (https://yaml.org/type/merge.html): the keys written
// in the mapping come first and win, then those of the merged mappings in
// order. A key written twice is returned twice (the decoders refuse it). A
// node that is not a mapping has no pairs; a merge that refers back to a
// mapping being expanded is not followed again.
func Pairs(n *yaml.Node) []Pair {
	var out []Pair
	pairs(n, map[*yaml.Node]bool{}, &out)
	return out
}

func pairs(n *yaml.Node, seen map[*yaml.Node]bool, out *[]Pair) {
	n = deref(n)
	if n == nil || n.Kind != yaml.MappingNode || seen[n] {
		return
	}
	seen[n] = true
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if IsMerge(k) {
			merges = append(merges, v)
			continue
		}
		*out = append(*out, Pair{Key: k, Value: v})
	}
	for _, m := range merges {
		m = deref(m)
		if m != nil && m.Kind == yaml.SequenceNode {
			for _, item := range m.Content {
				pairs(item, seen, out)
			}
			continue
		}
		pairs(m, seen, out)
	}
}

// IsMerge reports whether a mapping key is the merge key <<, by the test
// yaml.v3's decoder makes: a quoted "<<" or one tagged !!str is an
// ordinary key.
func IsMerge(k *yaml.Node) bool {
	return k.Kind == yaml.ScalarNode && k.Value == "<<" &&
		(k.Tag == "" || k.Tag == "!" || k.Tag == "!!merge" || k.Tag == "tag:yaml.org,2002:merge")
}

func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 100; i++ {
		n = n.Alias
	}
	return n
}

// Lookup returns the values at a dotted key path, as a decoder that matches
// keys case-insensitively (viper and mapstructure) sees them: every key
// whose lower-case form is the path's, through aliases and merge keys. The
// first value is the one written in the mapping itself when there is one.
func Lookup(doc *yaml.Node, path string) []*yaml.Node {
	nodes := []*yaml.Node{doc}
	for _, key := range strings.Split(path, ".") {
		var next []*yaml.Node
		for _, n := range nodes {
			for _, p := range Pairs(n) {
				if strings.ToLower(p.Key.Value) == strings.ToLower(key) {
					next = append(next, deref(p.Value))
				}
			}
		}
		nodes = next
	}
	return nodes
}

// Scalars calls f for every scalar node under n, following no aliases
// (every node of a document is reached once from its root).
func Scalars(n *yaml.Node, f func(*yaml.Node)) {
	if n == nil {
		return
	}
	if n.Kind == yaml.ScalarNode {
		f(n)
	}
	for _, c := range n.Content {
		Scalars(c, f)
	}
}

// Walk calls f for every key/value pair of every mapping in the document,
// as written (aliases are not followed: each pair is visited once).
func Walk(n *yaml.Node, f func(key, value *yaml.Node)) {
	if n == nil {
		return
	}
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			f(n.Content[i], n.Content[i+1])
		}
	}
	for _, c := range n.Content {
		Walk(c, f)
	}
}

// Nearest returns the key node of the deepest key of a dotted path that the
// document has, matching keys as Lookup does, or nil when it lacks even the
// first: a problem about a key the file leaves out is shown at the section
// the key belongs in.
func Nearest(doc *yaml.Node, path string) *yaml.Node {
	var at *yaml.Node
	n := doc
	for _, key := range strings.Split(path, ".") {
		var next *yaml.Node
		for _, p := range Pairs(n) {
			if strings.EqualFold(p.Key.Value, key) {
				at, next = p.Key, deref(p.Value)
				break
			}
		}
		if next == nil {
			break
		}
		n = next
	}
	return at
}
