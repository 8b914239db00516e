package yamlfile

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

func TestNearest(t *testing.T) {
	t.Parallel()
	const src = "version: 1\n" +
		"graph:\n" +
		"  url: https://graph.example\n" +
		"  invitation:\n" +
		"    sendMessage: true\n" +
		"base: &base\n" +
		"  Owner: prod\n" +
		"other:\n" +
		"  <<: *base\n"
	var root yaml.Node
	require.NoError(t, yaml.Unmarshal([]byte(src), &root))
	doc := root.Content[0]
	tests := []struct {
		path      string
		line, col int // 0: nil
	}{
		{"graph.invitation.redirectURL", 4, 3},
		{"graph.invitation", 4, 3},
		{"graph.owner", 2, 1},
		{"GRAPH.URL", 3, 3},
		{"other.owner", 7, 3},
		{"ldap.caFile", 0, 0},
		{"version.x", 1, 1},
	}
	for _, tt := range tests {
		n := Nearest(doc, tt.path)
		if tt.line == 0 {
			assert.Nil(t, n, tt.path)
			continue
		}
		require.NotNil(t, n, tt.path)
		assert.Equal(t, [2]int{tt.line, tt.col}, [2]int{n.Line, n.Column}, tt.path)
	}
}
