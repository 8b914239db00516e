package account

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestChangeApplyTo(t *testing.T) {
	t.Parallel()
	prev := Account{ID: "1", Anchor: "a1", Owned: true, Properties: map[string]string{
		"displayName": "Zoë", "jobTitle": "PM", "mail": "zoe@x.example"}}
	tests := []struct {
		name   string
		change Change
		want   Account
	}{
		{"only the present properties change; a null one is cleared",
			Change{ID: "1", Present: []string{"displayName", "jobTitle"},
				Account: Account{Properties: map[string]string{"displayName": "Zoé"}}},
			Account{ID: "1", Anchor: "a1", Owned: true, Properties: map[string]string{"displayName": "Zoé", "mail": "zoe@x.example"}}},
		{"no owner attribute in the round: ownership is kept",
			Change{ID: "1", Present: []string{"mail"}, Account: Account{Properties: map[string]string{"mail": "z@y.example"}}},
			Account{ID: "1", Anchor: "a1", Owned: true, Properties: map[string]string{"displayName": "Zoë", "jobTitle": "PM", "mail": "z@y.example"}}},
		{"the mark was removed in the tenant",
			Change{ID: "1", OwnerPresent: true, Account: Account{Owned: false}},
			Account{ID: "1", Anchor: "a1", Owned: false, Properties: prev.Properties}},
		{"anchor cleared",
			Change{ID: "1", AnchorPresent: true},
			Account{ID: "1", Anchor: "", Owned: true, Properties: prev.Properties}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assert.Equal(t, tt.want, tt.change.ApplyTo(prev))
			assert.Equal(t, "Zoë", prev.Properties["displayName"], "prev is not modified")
		})
	}

	newUser := Change{ID: "2", Present: []string{"mail"}, AnchorPresent: true, OwnerPresent: true,
		Account: Account{Anchor: "a2", Owned: true, Properties: map[string]string{"mail": "n@x.example"}}}
	assert.Equal(t, Account{ID: "2", Anchor: "a2", Owned: true, Properties: map[string]string{"mail": "n@x.example"}},
		newUser.ApplyTo(Account{}), "an unknown user starts from nothing")
}
