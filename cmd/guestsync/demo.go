package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/guestsync/guestsync/examples"
	"github.com/guestsync/guestsync/mappings"
	"github.com/guestsync/guestsync/pkg/engine"
	"github.com/guestsync/guestsync/pkg/graphsim"
	"github.com/guestsync/guestsync/pkg/mapping"
	"github.com/guestsync/guestsync/pkg/plan"
	graphsource "github.com/guestsync/guestsync/pkg/source/graph"
	"github.com/guestsync/guestsync/pkg/source/ldif"
	"github.com/guestsync/guestsync/pkg/target/ad"
	"github.com/guestsync/guestsync/pkg/target/graph"
	ldiftarget "github.com/guestsync/guestsync/pkg/target/ldif"
)

func (a *app) demoCommand() *cobra.Command {
	var mode, shadows string
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run a full sync against a built-in Graph emulator, twice",
		Long: `Runs guestsync's main job end to end with nothing to set up: it starts a
Graph emulator on a free loopback port, reads the embedded partner export
(examples/partners.ldif) through the embedded partner-guest mapping, prints
the plan, applies it, and runs again to show that nothing is left to do.
Then it runs the other direction on the same emulated tenant: its guests
become Active Directory shadow accounts (mappings/guest-shadow.yaml),
written as an LDIF change file to review and import, no directory needed.`,
		Example: "  guestsync demo\n  guestsync demo --mode invite\n  make demo",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !cmd.Flags().Changed("log-level") {
				a.logLevel = "warn" // the demo's story is on stdout
			}
			file, ok := demoMappings[mode]
			if !ok {
				return withCode(exitUsage, fmt.Errorf("--mode must be create or invite, not %q", mode))
			}
			if shadows == "" {
				dir, err := os.MkdirTemp("", "guestsync-demo-")
				if err != nil {
					return withCode(exitFailed, err)
				}
				shadows = filepath.Join(dir, "shadows.ldif")
			}
			return a.demo(contextOf(cmd), file, shadows)
		},
	}
	cmd.Flags().StringVar(&mode, "mode", "create", "create internal guests (partner-guest.yaml) or invite them (partner-invite.yaml)")
	cmd.Flags().StringVar(&shadows, "shadows-ldif", "", "where the guests-to-shadows part writes its LDIF change file (default: a new temporary folder)")
	return cmd
}

// demoMappings are the embedded mappings the demo runs, by mode.
var demoMappings = map[string]string{"create": mappings.Default, "invite": "partner-invite.yaml"}

// demo runs partners to guests twice and then, when shadows names a file,
// guests to shadows into that LDIF file.
func (a *app) demo(ctx context.Context, mappingFile, shadows string) error {
	log := a.logger()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return withCode(exitFailed, fmt.Errorf("demo: listen on loopback: %w", err))
	}
	sim := graphsim.New(graphsim.Options{VerifiedDomains: defaultDomains, Logger: log})
	served := make(chan error, 1)
	go func() { served <- serve(ctx, ln, sim) }()
	url := fmt.Sprintf("http://%s/v1.0", ln.Addr())

	e, err := demoEngine(url, mappingFile, log)
	if err != nil {
		return withCode(exitFailed, err)
	}
	color := isTerminal(a.out)
	fmt.Fprintf(a.out, "guestsync demo: Graph emulator at %s (verified domains %v)\n", url, defaultDomains)
	fmt.Fprintf(a.out, "source: examples/partners.ldif (embedded), mapping: mappings/%s (embedded)\n\n", mappingFile)

	fmt.Fprintln(a.out, "== Run 1: plan and apply ==")
	first, err := e.Run(ctx, true)
	if err != nil {
		return withCode(exitFailed, err)
	}
	if err := first.Plan.Render(a.out, plan.RenderOptions{Color: color, Skips: true}); err != nil {
		return withCode(exitFailed, err)
	}
	fmt.Fprintln(a.out, applySummary(first))
	writes := sim.Stats().Writes

	fmt.Fprintln(a.out, "\n== Run 2: the same input again ==")
	second, err := e.Run(ctx, true)
	if err != nil {
		return withCode(exitFailed, err)
	}
	if err := second.Plan.Render(a.out, plan.RenderOptions{Color: color}); err != nil {
		return withCode(exitFailed, err)
	}
	st := sim.Stats()
	fmt.Fprintf(a.out, "Emulator: %d users, %d writes in run 1, %d writes in run 2.\n", st.Users, writes, st.Writes-writes)
	if shadows != "" {
		if err := a.demoShadows(ctx, url, shadows, color, log); err != nil {
			return withCode(exitFailed, fmt.Errorf("demo, guests to shadows: %w", err))
		}
	}

	cancel()
	if err := <-served; err != nil {
		return err
	}
	if first.Failed() > 0 || second.Plan.HasChanges() || st.Writes != writes {
		return withCode(exitFailed, fmt.Errorf("demo did not converge: %d failures in run 1, %d changes left in run 2",
			first.Failed(), len(second.Plan.Actions)-second.Plan.Count(plan.Skip)))
	}
	return nil
}

// demoShadows runs the other direction on the emulated tenant: its guests
// become shadow accounts, written as an LDIF change file (no directory
// needed) that ldapmodify or ldifde -i would import.
func (a *app) demoShadows(ctx context.Context, url, file string, color bool, log *slog.Logger) error {
	data, err := mappings.Files.ReadFile(mappings.Shadow)
	if err != nil {
		return err
	}
	m, err := mapping.Parse("mappings/"+mappings.Shadow, data)
	if err != nil {
		return fmt.Errorf("embedded mapping:\n%w", err)
	}
	client, err := graph.New(graph.Options{URL: url, Credential: graph.StaticToken(emulatorToken), Logger: log})
	if err != nil {
		return err
	}
	src, err := graphsource.New(client, graphsource.Options{}, log)
	if err != nil {
		return err
	}
	tgt, err := ldiftarget.New(ldiftarget.Options{Path: file, Layout: ad.Layout{OU: demoShadowOU, DisabledOU: demoDisabledOU,
		MarkAttribute: "adminDescription", Owner: "demo"}})
	if err != nil {
		return err
	}
	e := &engine.Engine{Source: src, Mapping: m, Target: tgt, Log: log}
	fmt.Fprintf(a.out, "\n== Guests to shadow accounts: the tenant's guests as AD users, for Kerberos apps ==\n")
	fmt.Fprintf(a.out, "source: the emulated tenant's guests, mapping: mappings/%s (embedded), target: an LDIF change file\n\n", mappings.Shadow)
	run, err := e.Run(ctx, true)
	if err != nil {
		return err
	}
	if err := run.Plan.Render(a.out, plan.RenderOptions{Color: color, Skips: true}); err != nil {
		return err
	}
	fmt.Fprintln(a.out, applySummary(run))
	fmt.Fprintf(a.out, "Wrote %s: review it, then import it with ldapmodify -f or ldifde -i (each create's comment says what to set before its shadow is enabled).\n", file)
	if run.Failed() > 0 {
		return fmt.Errorf("%d shadow changes failed", run.Failed())
	}
	return nil
}

// Where the demo's shadows would go in the demo's domain.
const (
	demoShadowOU   = "OU=B2B Guests,DC=corp,DC=contoso,DC=com"
	demoDisabledOU = "OU=Disabled B2B Guests,DC=corp,DC=contoso,DC=com"
)

// demoEngine wires the embedded LDIF and mapping to the emulator at url.
func demoEngine(url, mappingFile string, log *slog.Logger) (*engine.Engine, error) {
	data, err := mappings.Files.ReadFile(mappingFile)
	if err != nil {
		return nil, err
	}
	m, err := mapping.Parse("mappings/"+mappingFile, data)
	if err != nil {
		return nil, fmt.Errorf("embedded mapping:\n%w", err)
	}
	src := ldif.NewReader("examples/partners.ldif", func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(examples.PartnersLDIF)), nil
	})
	tgt, err := graph.New(graph.Options{URL: url, Credential: graph.StaticToken(emulatorToken), Logger: log,
		Invite: m.Mode == mapping.ModeInvite, InviteRedirectURL: "https://myapplications.microsoft.com/?tenantid=contoso.onmicrosoft.com"})
	if err != nil {
		return nil, err
	}
	return &engine.Engine{Source: src, Mapping: m, Target: tgt, Log: log}, nil
}
