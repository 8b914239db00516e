package yamlfile

import (
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// FuzzDecode decodes arbitrary text strictly: no panic, no endless
// expansion of aliases, and every problem names the file and either a
// line, a key or the YAML syntax.
func FuzzDecode(f *testing.F) {
	for _, seed := range []string{
		"version: 1\nitems:\n  - name: a\n    count: 2\n",
		"items:\n  - &i {name: a, count: 1}\nnested:\n  <<: [*i]\nbyName:\n  x: {<<: *i}\n",
		"a: &a [*a]\n",
		"nested: {<<: {<<: {name: x}}}\n---\nversion: 2\n",
		"nested: {\"<<\": 1, !!str name: !!binary eA==}\n",
		"version: [\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var v outer
		doc, ps := Decode("f.yaml", data, &v)
		if doc == nil && len(ps) == 0 {
			t.Fatal("no document and no problem")
		}
		for _, p := range ps {
			if p.File != "f.yaml" || (p.Line == 0 && p.Path == "" && !strings.HasPrefix(p.Msg, "YAML syntax:")) {
				t.Fatalf("a problem with neither line nor key: %q", p.Error())
			}
		}
		if doc != nil {
			Lookup(doc, "nested.name")
			Nearest(doc, "nested.name.x")
			Walk(doc, func(k, v *yaml.Node) {})
		}
	})
}
