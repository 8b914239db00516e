package main

import (
	"fmt"
	"log/slog"
	"strings"

	"github.com/guestsync/guestsync/pkg/config"
	"github.com/guestsync/guestsync/pkg/engine"
	"github.com/guestsync/guestsync/pkg/mapping"
	"github.com/guestsync/guestsync/pkg/plan"
	"github.com/guestsync/guestsync/pkg/source"
	"github.com/guestsync/guestsync/pkg/source/ldap"
	"github.com/guestsync/guestsync/pkg/source/ldif"
	"github.com/guestsync/guestsync/pkg/target/graph"
)

// emulatorToken is the bearer token sent to guestsync's Graph emulator,
// which accepts any token unless started with --token.
const emulatorToken = "guestsync-emulator"

// newEngine builds the engine a config describes. Problems exit with 2.
func newEngine(c *config.Config, log *slog.Logger) (*engine.Engine, error) {
	m, err := mapping.Load(c.Mapping.File)
	if err != nil {
		return nil, withCode(exitUsage, fmt.Errorf("mapping:\n%w", err))
	}
	if m.Mode == mapping.ModeInvite && c.Graph.Invitation.RedirectURL == "" {
		return nil, withCode(exitUsage, fmt.Errorf("%s: graph.invitation.redirectURL is required: mapping %s invites guests (mode: invite), and Graph requires a redirect URL for every invitation (set it, or graph.tenantID to default to the tenant's My Apps)", c.File, c.Mapping.File))
	}
	if c.Graph.Owner == config.Defaults().Graph.Owner && c.Policy.Removal != "none" && c.Policy.Mode == "sync" {
		// Removals act on every guest with this instance's mark; two
		// instances sharing the default mark in one tenant would remove
		// each other's guests.
		log.Warn("graph.owner is the default: if another guestsync with the default owner syncs into this tenant, each will see the other's guests as its own and remove them; set graph.owner to a name for this source",
			"owner", c.Graph.Owner)
	}
	src, err := newSource(c, log)
	if err != nil {
		return nil, withCode(exitUsage, err)
	}
	tgt, err := newTarget(c.Graph, log)
	if err != nil {
		return nil, withCode(exitUsage, err)
	}
	pol := c.Policy
	return &engine.Engine{Source: src, Mapping: m, Target: tgt, Log: log, StatePath: c.State.File, FullReadEvery: c.Source.FullReadEvery,
		Policy: plan.Policy{Adopt: c.Graph.Adopt, Mode: pol.Mode, Removal: pol.Removal, DeleteAfter: pol.DeleteAfter},
		Rails:  engine.Rails{MaxRemovals: pol.RemovalThreshold, MaxRemovalPercent: pol.RemovalThresholdPercent}}, nil
}

func newSource(c *config.Config, log *slog.Logger) (source.Reader, error) {
	switch c.Source.Kind {
	case "ldif":
		return ldif.FileReader(c.LDIF.Path), nil
	case "ldap":
		l := c.LDAP
		var bases []ldap.Base
		for _, b := range l.Bases {
			bases = append(bases, ldap.Base{DN: b.DN, Scope: b.Scope})
		}
		return ldap.New(ldap.Config{
			URL:               strings.TrimSpace(l.URL),
			BindDN:            l.BindDN,
			BindPassword:      l.BindPassword.Reveal(),
			BindMethod:        l.BindMethod,
			NTLMDomain:        l.NTLMDomain,
			BaseDN:            l.BaseDN,
			Filter:            l.Filter,
			Scope:             l.Scope,
			Bases:             bases,
			ExcludeDNs:        l.ExcludeDNs,
			Groups:            l.Groups,
			Directory:         l.Directory,
			MaxGroupDepth:     l.MaxGroupDepth,
			FollowReferrals:   l.FollowReferrals,
			ReferralHosts:     l.ReferralHosts,
			Incremental:       l.Incremental,
			PageSize:          l.PageSize,
			Timeout:           l.Timeout,
			StartTLS:          l.StartTLS,
			CAFile:            l.CAFile,
			ServerName:        l.ServerName,
			AllowInsecureBind: l.AllowInsecureBind,
			Decoder:           l.Decoder,
		}, log)
	}
	return nil, fmt.Errorf("source.kind %q is not supported", c.Source.Kind)
}

func newTarget(g config.Graph, log *slog.Logger) (*graph.Client, error) {
	cred, err := graph.NewCredential(graph.CredentialOptions{
		Method:              g.Auth,
		Cloud:               g.Cloud,
		TenantID:            g.TenantID,
		ClientID:            g.ClientID,
		ClientSecret:        g.ClientSecret.Reveal(),
		CertificateFile:     g.CertificateFile,
		CertificatePassword: g.CertificatePassword.Reveal(),
		EmulatorToken:       emulatorToken,
	})
	if err != nil {
		return nil, fmt.Errorf("graph credential: %w", err)
	}
	return graph.New(graph.Options{URL: g.URL, Credential: cred, Logger: log, Owner: g.Owner, OwnerAttribute: g.OwnerAttribute,
		InviteRedirectURL: g.Invitation.RedirectURL, SendInvitationMessage: g.Invitation.SendMessage,
		WriteBudget: g.WriteBudget, WriteWindow: g.WriteWindow, Concurrency: g.Concurrency, CAFile: g.CAFile})
}
