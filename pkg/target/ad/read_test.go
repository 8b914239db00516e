package ad

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/guestsync/guestsync/pkg/account"
)

func TestFind(t *testing.T) {
	t.Parallel()
	guid := string([]byte{0x89, 0x57, 0xc9, 0xf3, 0xe1, 0xac, 0x54, 0x49, 1, 2, 3, 4, 5, 6, 7, 8})
	object := func(attrs map[string]string) func(string) string {
		return func(a string) string {
			for k, v := range attrs {
				if strings.EqualFold(k, a) {
					return v
				}
			}
			return ""
		}
	}
	props := Properties(nil)
	tests := []struct {
		name  string
		attrs map[string]string
		want  Found
	}{
		{"a shadow", map[string]string{"adminDescription": "User_guestsync:prod:g1", "userAccountControl": "262658", "objectGUID": guid,
			"userPrincipalName": "ann#EXT#@c", "cn": "Ann", "memberOf": "CN=x"},
			Found{Account: account.Account{ID: "f3c95789-ace1-4954-0102-030405060708", Anchor: "g1", Owned: true,
				Properties: map[string]string{"userPrincipalName": "ann#EXT#@c", "cn": "Ann", "enabled": "false"}},
				Object: Object{DN: "CN=Ann,OU=S", UAC: 262658}}},
		{"half-made", map[string]string{"adminDescription": "User_guestsync:prod:g1", "userAccountControl": "514"},
			Found{Account: account.Account{Anchor: "g1", Owned: true}, Object: Object{DN: "CN=Ann,OU=S", UAC: 514}, HalfMade: true}},
		{"another owner's shadow", map[string]string{"adminDescription": "User_guestsync:prod2:g1", "sAMAccountName": "ann"},
			Found{Account: account.Account{ID: "CN=Ann,OU=S", Properties: map[string]string{"sAMAccountName": "ann"}}}},
		{"someone's user", map[string]string{"sAMAccountName": "bob", "userPrincipalName": "bob@x", "displayName": "Bob"},
			Found{Account: account.Account{ID: "CN=Ann,OU=S", Properties: map[string]string{"sAMAccountName": "bob", "userPrincipalName": "bob@x"}}}},
		{"an OU", map[string]string{"ou": "S"}, Found{Account: account.Account{ID: "CN=Ann,OU=S", Properties: map[string]string{}}, Ignore: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := testLayout.Find("CN=Ann,OU=S", object(tt.attrs), props)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
	_, err := testLayout.Find("CN=Ann,OU=S", object(map[string]string{"adminDescription": "User_guestsync:prod:g1"}), props)
	assert.ErrorContains(t, err, `CN=Ann,OU=S: userAccountControl ""`)
}
