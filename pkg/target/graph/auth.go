package graph

import (
	"fmt"
	"os"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

// authorities are the Microsoft Entra sign-in endpoints of the national
// clouds, by guestsync's cloud names ("National cloud deployments"); each
// cloud's Graph root is config.CloudGraphRoot.
var authorities = map[string]cloud.Configuration{
	"global":   cloud.AzurePublic,
	"usgov":    cloud.AzureGovernment,
	"usgovdod": cloud.AzureGovernment,
	"china":    cloud.AzureChina, // operated by 21Vianet
}

// CredentialOptions say how to sign in to Microsoft Entra ID.
type CredentialOptions struct {
	// Method is "clientSecret", "certificate", "default" (azidentity's
	// chain: environment, workload identity, managed identity, Azure CLI)
	// or "emulator".
	Method   string
	Cloud    string
	TenantID string
	ClientID string
	// ClientSecret is the app's secret, for clientSecret.
	ClientSecret string
	// CertificateFile is a PEM file (certificate and private key) or a
	// PKCS#12 (.pfx) file, for certificate; CertificatePassword decrypts
	// it when needed.
	CertificateFile     string
	CertificatePassword string
	// EmulatorToken is the bearer token for guestsync's Graph emulator.
	EmulatorToken string
}

// NewCredential builds the token credential the options describe.
func NewCredential(o CredentialOptions) (azcore.TokenCredential, error) {
	authority, ok := authorities[o.Cloud]
	if !ok && o.Method != "emulator" {
		return nil, fmt.Errorf("unknown cloud %q", o.Cloud)
	}
	client := azcore.ClientOptions{Cloud: authority}
	switch o.Method {
	case "emulator":
		return StaticToken(o.EmulatorToken), nil
	case "clientSecret":
		return azidentity.NewClientSecretCredential(o.TenantID, o.ClientID, o.ClientSecret,
			&azidentity.ClientSecretCredentialOptions{ClientOptions: client})
	case "certificate":
		data, err := os.ReadFile(o.CertificateFile)
		if err != nil {
			return nil, fmt.Errorf("read certificate: %w", err)
		}
		certs, key, err := azidentity.ParseCertificates(data, []byte(o.CertificatePassword))
		if err != nil {
			hint := ""
			if strings.Contains(err.Error(), "unknown digest algorithm") || strings.Contains(err.Error(), "unknown encryption algorithm") {
				// OpenSSL 3 exports PKCS#12 with AES and a SHA-256 MAC by
				// default, which the PKCS#12 decoder azidentity uses
				// cannot read.
				hint = " (a .pfx made by OpenSSL 3 with its default algorithms: convert it to PEM with " +
					"`openssl pkcs12 -in app.pfx -out app.pem -nodes` and keep that file private, or re-export it with `openssl pkcs12 -export -legacy`)"
			}
			return nil, fmt.Errorf("certificate %s: %w%s", o.CertificateFile, err, hint)
		}
		return azidentity.NewClientCertificateCredential(o.TenantID, o.ClientID, certs, key,
			&azidentity.ClientCertificateCredentialOptions{ClientOptions: client, SendCertificateChain: true})
	case "default":
		return azidentity.NewDefaultAzureCredential(&azidentity.DefaultAzureCredentialOptions{ClientOptions: client, TenantID: o.TenantID})
	}
	return nil, fmt.Errorf("unknown auth method %q", o.Method)
}
