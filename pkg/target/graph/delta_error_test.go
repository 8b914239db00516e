package graph

import (
	"encoding/json"
	"strings"
	"testing"
)

// A users/delta entry without an id is named by what it carries, never
// quoted whole: one broken user must not put megabytes into the run's
// error and report.
func TestDeltaUserWithoutAnIDIsNamedBriefly(t *testing.T) {
	t.Parallel()
	c, err := New(Options{URL: "http://127.0.0.1:1/v1.0", Credential: StaticToken("t")})
	if err != nil {
		t.Fatal(err)
	}
	for name, id := range map[string]string{"no id": ``, "empty id": `,"id":""`, "id not a string": `,"id":7`} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			body := `{"displayName":"` + strings.Repeat("x", 1<<20) + `","userType":"Guest"` + id + `}`
			var fields map[string]json.RawMessage
			if err := json.Unmarshal([]byte(body), &fields); err != nil {
				t.Fatal(err)
			}
			_, _, err := c.toChange(fields, true)
			if err == nil {
				t.Fatal("a user without an id was accepted")
			}
			if len(err.Error()) > 300 {
				t.Fatalf("the error is %d bytes; it must name the user briefly", len(err.Error()))
			}
			if !strings.Contains(err.Error(), "displayName") {
				t.Errorf("the error %q does not say which properties the user carried", err)
			}
		})
	}
}
