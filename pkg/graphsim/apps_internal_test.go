package graphsim

import (
	"strings"
	"testing"
)

// TestAssignmentID checks the id layout against Graph docs' example of
// "Grant an appRoleAssignment for a service principal": principal
// 33ad69f9-da99-4bed-acd0-3f24235cb296, id
// "-WmtM5na7Uus0D8kI1yylpU9Mdo0Pb9OoBJvd3T5eKc". The first 21 characters
// encode the principal's bytes alone.
func TestAssignmentID(t *testing.T) {
	t.Parallel()
	id := assignmentID("33AD69F9-DA99-4BED-ACD0-3F24235CB296")
	if want := "-WmtM5na7Uus0D8kI1yylpU9Mdo0Pb9OoBJvd3T5eKc"; len(id) != len(want) || !strings.HasPrefix(id, want[:21]) {
		t.Fatalf("assignmentID = %q, want the shape and prefix of %q", id, want)
	}
}
