package graph

import (
	"testing"

	"github.com/guestsync/guestsync/pkg/config"
	"github.com/guestsync/guestsync/pkg/config/configtest"
)

// Every setting of the graph section reaches the credential or the client,
// so that a setting added to config.Graph and forgotten here fails this
// test.
func TestOptionsFromCarryEverySetting(t *testing.T) {
	t.Parallel()
	type settings struct {
		Credential CredentialOptions
		Client     Options
	}
	convert := func(g config.Graph) settings {
		return settings{Credential: CredentialOptionsFrom(g, ""), Client: OptionsFrom(g, nil, nil)}
	}
	carried := map[string]string{
		"Auth":                   "Credential.Method",
		"Cloud":                  "Credential.Cloud",
		"TenantID":               "Credential.TenantID",
		"ClientID":               "Credential.ClientID",
		"ClientSecret":           "Credential.ClientSecret",
		"CertificateFile":        "Credential.CertificateFile",
		"CertificatePassword":    "Credential.CertificatePassword",
		"URL":                    "Client.URL",
		"CAFile":                 "Client.CAFile",
		"Owner":                  "Client.Owner",
		"OwnerAttribute":         "Client.OwnerAttribute",
		"Invitation.RedirectURL": "Client.InviteRedirectURL",
		"Invitation.SendMessage": "Client.SendInvitationMessage",
		"WriteBudget":            "Client.WriteBudget",
		"WriteWindow":            "Client.WriteWindow",
		"Concurrency":            "Client.Concurrency",
	}
	notCarried := map[string]string{
		// config.Load reads these files into ClientSecret and
		// CertificatePassword, which are carried.
		"ClientSecretFile":        "read into ClientSecret",
		"CertificatePasswordFile": "read into CertificatePassword",
		// Adoption is the plan's decision (plan.Policy.Adopt): the client
		// carries out the adopt actions it is given.
		"Adopt": "plan policy",
	}
	configtest.Carried(t, convert, carried, notCarried)
}
