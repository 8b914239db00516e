package graph

import (
	"log/slog"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/guestsync/guestsync/pkg/config"
)

// CredentialOptionsFrom returns how to sign in, as the graph section of
// guestsync's configuration says; emulatorToken is the bearer token sent
// when it says auth: emulator. The client secret and the certificate's
// password are revealed here, where the credential is built, and not
// before.
func CredentialOptionsFrom(g config.Graph, emulatorToken string) CredentialOptions {
	return CredentialOptions{
		Method:              g.Auth,
		Cloud:               g.Cloud,
		TenantID:            g.TenantID,
		ClientID:            g.ClientID,
		ClientSecret:        g.ClientSecret.Reveal(),
		CertificateFile:     g.CertificateFile,
		CertificatePassword: g.CertificatePassword.Reveal(),
		EmulatorToken:       emulatorToken,
	}
}

// OptionsFrom returns the client settings that the graph section of
// guestsync's configuration describes, signing in with cred (built from
// CredentialOptionsFrom) and logging to log.
func OptionsFrom(g config.Graph, cred azcore.TokenCredential, log *slog.Logger) Options {
	return Options{
		URL:                   g.URL,
		Credential:            cred,
		Logger:                log,
		Owner:                 g.Owner,
		OwnerAttribute:        g.OwnerAttribute,
		InviteRedirectURL:     g.Invitation.RedirectURL,
		SendInvitationMessage: g.Invitation.SendMessage,
		WriteBudget:           g.WriteBudget,
		WriteWindow:           g.WriteWindow,
		Concurrency:           g.Concurrency,
		CAFile:                g.CAFile,
	}
}
