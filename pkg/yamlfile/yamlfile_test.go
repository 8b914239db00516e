package yamlfile

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type inner struct {
	Name  string `yaml:"name"`
	Count int    `yaml:"count"`
}

type outer struct {
	Version int              `yaml:"version"`
	Items   []inner          `yaml:"items"`
	ByName  map[string]inner `yaml:"byName"`
	Nested  inner            `yaml:"nested"`
}

func TestDecode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		src  string
		want []string // rendered problems
	}{
		{name: "valid", src: "version: 1\nitems:\n  - name: a\n    count: 2\n"},
		{
			name: "unknown keys at every depth, with suggestions",
			src:  "version: 1\nitms: []\nitems:\n  - name: a\n    cuont: 2\nbyName:\n  x:\n    nme: b\nnested:\n  zzzzzz: 1\n",
			want: []string{
				`f.yaml:2:1: itms: unknown key "itms"; did you mean "items"?`,
				`f.yaml:5:5: items[0].cuont: unknown key "cuont"; did you mean "count"?`,
				`f.yaml:8:5: byName.x.nme: unknown key "nme"; did you mean "name"?`,
				`f.yaml:10:3: nested.zzzzzz: unknown key "zzzzzz" (known keys: count, name)`,
			},
		},
		{
			name: "type mismatch keeps its line",
			src:  "version: one\n",
			want: []string{"f.yaml:1: cannot unmarshal !!str `one` into int"},
		},
		{
			name: "syntax error",
			src:  "version: 1\nitems: [\n",
			want: []string{"f.yaml:2: YAML syntax: did not find expected node content"},
		},
		{name: "empty", src: "", want: []string{"f.yaml:1: the file is empty"}},
		{name: "only a comment", src: "# nothing\n", want: []string{"f.yaml:1: the file is empty"}},
		{
			name: "keys merged in are checked where they are merged",
			src:  "version: 1\nnested:\n  <<: {name: a, nmae: b}\n",
			want: []string{`f.yaml:3:17: nested.nmae: unknown key "nmae"; did you mean "name"?`},
		},
		{
			name: "keys merged from an anchor are checked against the type merged into",
			src:  "items:\n  - &i {name: a, count: 1}\nnested:\n  <<: [*i]\nbyName:\n  x: {<<: *i, version: 2}\n",
			want: []string{`f.yaml:6:15: byName.x.version: unknown key "version" (known keys: count, name)`},
		},
		{name: "a quoted << is an ordinary key", src: "nested: {\"<<\": {name: a}}\n", want: []string{`f.yaml:1:10: nested.<<: unknown key "<<" (known keys: count, name)`}},
		{
			name: "a second document is refused, not ignored",
			src:  "version: 1\n---\nversion: 2\nzzz: 1\n",
			want: []string{"f.yaml:2: a second YAML document: the file must hold one document (remove the \"---\" line and what follows, or merge it into the first)"},
		},
		{
			name: "a syntax error in a second document is reported",
			src:  "version: 1\n---\nversion: [\n",
			want: []string{"f.yaml:3: YAML syntax: did not find expected node content"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var v outer
			_, ps := Decode("f.yaml", []byte(tt.src), &v)
			var got []string
			for _, p := range ps {
				got = append(got, p.Error())
			}
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestProblemsErr(t *testing.T) {
	t.Parallel()
	assert.NoError(t, Problems(nil).Err())
	ps := Problems{{File: "b", Line: 1, Msg: "x"}, {File: "a", Line: 9, Col: 2, Msg: "y"}, {File: "a", Line: 3, Msg: "z"}}
	err := ps.Err()
	require.Error(t, err)
	assert.Equal(t, "a:3: z\na:9:2: y\nb:1: x", err.Error())
	assert.Len(t, AsProblems("f", err), 3)
	assert.Equal(t, Problems{{File: "f", Msg: "boom"}}, AsProblems("f", errors.New("boom")))
	assert.Nil(t, AsProblems("f", nil))
}

func TestDistance(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		a, b string
		d    int
	}{{"", "", 0}, {"abc", "abc", 0}, {"kitten", "sitting", 3}, {"Zoë", "Zoe", 1}, {"", "abc", 3}} {
		assert.Equal(t, tt.d, Distance(tt.a, tt.b), "%q %q", tt.a, tt.b)
	}
}
