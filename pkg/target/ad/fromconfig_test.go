package ad

import (
	"testing"

	"github.com/guestsync/guestsync/pkg/config/configtest"
)

// Every setting of the ad section reaches the target, so that a setting
// added to config.AD and forgotten here fails this test.
func TestOptionsFromCarriesEverySetting(t *testing.T) {
	t.Parallel()
	renamed := map[string]string{}
	for _, f := range []string{"URL", "BindDN", "BindPassword", "BindMethod", "NTLMDomain", "Timeout", "StartTLS", "CAFile", "ServerName"} {
		renamed[f] = "Connection." + f
	}
	notCarried := map[string]string{
		// config.Load reads the file into BindPassword, which is carried.
		"BindPasswordFile": "read into BindPassword",
	}
	configtest.Carried(t, OptionsFrom, renamed, notCarried)
}
