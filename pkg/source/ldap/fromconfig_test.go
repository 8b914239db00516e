package ldap

import (
	"testing"

	"github.com/guestsync/guestsync/pkg/config/configtest"
)

// Every setting of the ldap section reaches the reader, so that a setting
// added to config.LDAP and forgotten here fails this test.
func TestConfigFromCarriesEverySetting(t *testing.T) {
	t.Parallel()
	notCarried := map[string]string{
		// config.Load reads the file into BindPassword, which is carried.
		"BindPasswordFile": "read into BindPassword",
	}
	configtest.Carried(t, ConfigFrom, nil, notCarried)
}
