package plan

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDecode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, data, err string
	}{
		{"saved plan", `{"version": 2, "actions": [{"action": "create", "anchor": "a", "account": {"anchor": "a", "properties": {}}}]}`, ""},
		{"empty plan", `{"version": 2, "actions": []}`, ""},
		{"not JSON", "{\"version\": 1,\n  \"actions\": [}", "plan.json:2:15 is not a plan saved by 'guestsync plan --out': invalid character '}'"},
		{"wrong type", "{\"version\": \"1\"}", "plan.json:1:16 is not a plan saved by 'guestsync plan --out': json: cannot unmarshal string"},
		{"unknown key", "{\"version\": 2,\n\"actoins\": []}", `plan.json:2:15 is not a plan saved by 'guestsync plan --out': json: unknown field "actoins"`},
		{"two values", `{"version": 2} {}`, "plan.json:1:16 is not a plan saved by 'guestsync plan --out': more than one JSON value"},
		{"empty file", "", "plan.json:1:1 is not a plan saved by 'guestsync plan --out': EOF"},
		{"null", "null", "plan.json: the plan has format version 0; this build applies version 2"},
		{"other version", `{"version": 1}`, "plan.json: the plan has format version 1; this build applies version 2 (make a new plan)"},
		{"unknown action", `{"version": 2, "actions": [{"action": "skip"}, {"action": "purge"}]}`, `plan.json: action 2: unknown action "purge"`},
		{"create without guest", `{"version": 2, "actions": [{"action": "create", "anchor": "a"}]}`, "plan.json: action 1: a create without its account"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p, err := Decode("plan.json", []byte(tt.data))
			if tt.err == "" {
				require.NoError(t, err)
				assert.Equal(t, FormatVersion, p.Version)
				return
			}
			require.Error(t, err)
			assert.Nil(t, p)
			assert.Contains(t, err.Error(), tt.err)
		})
	}
}

// TestDecodeNamesTheVersionOfAnOlderPlan: a plan saved by a build of
// format 1 is refused for its version, not for the keys format 2 renamed.
func TestDecodeNamesTheVersionOfAnOlderPlan(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("testdata/plan-v1.json")
	require.NoError(t, err)
	_, err = Decode("old.json", data)
	require.Error(t, err)
	assert.Equal(t, "old.json: the plan has format version 1; this build applies version 2 (make a new plan)", err.Error())
}

func TestDecodeReadsTheGoldenPlan(t *testing.T) {
	t.Parallel()
	data, err := os.ReadFile("testdata/plan.json")
	require.NoError(t, err)
	p, err := Decode("plan.json", data)
	require.NoError(t, err)
	assert.NotEmpty(t, p.Actions)
}

// FuzzDecode: whatever the file holds, loading it does not panic, gives
// a plan or an error naming the file, and a plan it gives loads again the
// same once saved.
func FuzzDecode(f *testing.F) {
	if data, err := os.ReadFile("testdata/plan.json"); err == nil {
		f.Add(data)
	}
	for _, s := range []string{"", "null", "{}", `{"version": 2}`, `{"version": 2, "actions": [{"action": "create", "guest": {"properties": {"a": "b"}}}]}`,
		`{"version": 2, "actions": [{"action": "update", "changes": [{"property": "x", "old": "", "new": "y"}]}], "graceClocks": {"a": "2026-01-01T00:00:00Z"}}`,
		"{\"version\": 1,\n\"actions\": [\n{\"action\": \"disable\"}", `[1, 2]`, `{"version": 2e400}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Decode("plan.json", data)
		if err != nil {
			if p != nil {
				t.Fatalf("a plan and an error: %v", err)
			}
			if !strings.HasPrefix(err.Error(), "plan.json") {
				t.Fatalf("the error does not name the file: %v", err)
			}
			return
		}
		if p == nil || p.Version != FormatVersion {
			t.Fatalf("no error, but plan %+v", p)
		}
		saved, err := json.Marshal(p)
		if err != nil {
			t.Fatalf("a loaded plan does not encode: %v", err)
		}
		again, err := Decode("plan.json", saved)
		if err != nil {
			t.Fatalf("a loaded plan, saved, does not load again: %v\n%s", err, saved)
		}
		if len(again.Actions) != len(p.Actions) {
			t.Fatalf("%d actions, %d after saving", len(p.Actions), len(again.Actions))
		}
	})
}
