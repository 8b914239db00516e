package main

import (
	"fmt"
	"log/slog"

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
	if err := c.CheckMapping(m).Err(); err != nil {
		return nil, withCode(exitUsage, fmt.Errorf("invalid configuration:\n%w", err))
	}
	src, err := newSource(c, log)
	if err != nil {
		return nil, withCode(exitUsage, err)
	}
	tgt, err := newTarget(c.Graph, m.Mode == mapping.ModeInvite, log)
	if err != nil {
		return nil, withCode(exitUsage, err)
	}
	pol := c.Policy
	return &engine.Engine{Source: src, Mapping: m, Target: tgt, Log: log, StatePath: c.State.File, FullReadEvery: c.Source.FullReadEvery,
		Policy: plan.Policy{Adopt: graph.AdoptProperty(c.Graph.Adopt), Mode: pol.Mode, Removal: pol.Removal, DeleteAfter: pol.DeleteAfter},
		Limits: engine.RemovalLimits{MaxRemovals: pol.RemovalThreshold, MaxRemovalPercent: pol.RemovalThresholdPercent}}, nil
}

func newSource(c *config.Config, log *slog.Logger) (source.Reader, error) {
	switch c.Source.Kind {
	case "ldif":
		return ldif.FileReader(c.LDIF.Path), nil
	case "ldap":
		return ldap.New(ldap.ConfigFrom(c.LDAP), log)
	}
	return nil, fmt.Errorf("source.kind %q is not supported", c.Source.Kind)
}

// newTarget builds the Graph client; invite is the mapping's mode: invite.
func newTarget(g config.Graph, invite bool, log *slog.Logger) (*graph.Client, error) {
	cred, err := graph.NewCredential(graph.CredentialOptionsFrom(g, emulatorToken))
	if err != nil {
		return nil, fmt.Errorf("graph credential: %w", err)
	}
	opts := graph.OptionsFrom(g, cred, log)
	opts.Invite = invite
	return graph.New(opts)
}
