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
