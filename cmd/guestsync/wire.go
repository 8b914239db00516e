package main

import (
	"fmt"
	"log/slog"

	"github.com/guestsync/guestsync/pkg/config"
	"github.com/guestsync/guestsync/pkg/engine"
	"github.com/guestsync/guestsync/pkg/mapping"
	"github.com/guestsync/guestsync/pkg/plan"
	"github.com/guestsync/guestsync/pkg/source"
	graphsource "github.com/guestsync/guestsync/pkg/source/graph"
	"github.com/guestsync/guestsync/pkg/source/ldap"
	"github.com/guestsync/guestsync/pkg/source/ldif"
	"github.com/guestsync/guestsync/pkg/target/ad"
	"github.com/guestsync/guestsync/pkg/target/graph"
	ldiftarget "github.com/guestsync/guestsync/pkg/target/ldif"
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
	src, err := newSource(c, m.SourceAttributes(), log)
	if err != nil {
		return nil, withCode(exitUsage, err)
	}
	tgt, err := newTarget(c, m, log)
	if err != nil {
		return nil, withCode(exitUsage, err)
	}
	pol := c.Policy
	policy := plan.Policy{Mode: pol.Mode, Removal: pol.Removal, DeleteAfter: pol.DeleteAfter}
	if c.Target.Kind == "graph" {
		policy.Adopt = graph.AdoptProperty(c.Graph.Adopt)
	}
	return &engine.Engine{Source: src, Mapping: m, Target: tgt, Log: log, StatePath: c.State.File, FullReadEvery: c.Source.FullReadEvery,
		Policy: policy,
		Limits: engine.RemovalLimits{MaxRemovals: pol.RemovalThreshold, MaxRemovalPercent: pol.RemovalThresholdPercent}}, nil
}

// newSource builds the source the config names; reads are the attributes
// the mapping reads, for a source that must name what it reads (Graph's
// $select), nil for all it reads by default.
func newSource(c *config.Config, reads []string, log *slog.Logger) (source.Reader, error) {
	switch c.Source.Kind {
	case "ldif":
		return ldif.FileReader(c.LDIF.Path), nil
	case "ldap":
		return ldap.New(ldap.ConfigFrom(c.LDAP), log)
	case "graph":
		client, err := newGraphClient(c.Graph, false, log)
		if err != nil {
			return nil, err
		}
		return graphsource.New(client, graphsource.OptionsFrom(c.Guests, reads), log)
	}
	return nil, fmt.Errorf("source.kind %q is not supported", c.Source.Kind)
}

// newTarget builds the target the config names for the mapping m.
func newTarget(c *config.Config, m *mapping.Mapping, log *slog.Logger) (engine.Target, error) {
	switch c.Target.Kind {
	case "graph":
		return newGraphClient(c.Graph, m.Mode == mapping.ModeInvite, log)
	case "ad":
		opts := ad.OptionsFrom(c.AD)
		opts.Log, opts.Attributes = log, m.Targets() // read back what the mapping writes
		return ad.New(opts)
	case "ldif":
		return ldiftarget.New(ldiftarget.Options{Path: c.Target.File, Export: c.Target.Export, Layout: ad.LayoutFrom(c.AD),
			Attributes: m.Targets()})
	}
	return nil, fmt.Errorf("target.kind %q is not supported", c.Target.Kind)
}

// newGraphClient builds the Graph client; invite is the mapping's mode:
// invite.
func newGraphClient(g config.Graph, invite bool, log *slog.Logger) (*graph.Client, error) {
	cred, err := graph.NewCredential(graph.CredentialOptionsFrom(g, emulatorToken))
	if err != nil {
		return nil, fmt.Errorf("graph credential: %w", err)
	}
	opts := graph.OptionsFrom(g, cred, log)
	opts.Invite = invite
	return graph.New(opts)
}
