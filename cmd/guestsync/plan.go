package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/guestsync/guestsync/pkg/engine"
	"github.com/guestsync/guestsync/pkg/plan"
)

func (a *app) planCommand() *cobra.Command {
	var full bool
	cmd := &cobra.Command{
		Use:   "plan",
		Short: "Show what a sync would change, without writing anything",
		Long: `Reads the source and the tenant, maps every entry and prints the plan:
guests to create (+) and to update (~, each property old → new), entries
skipped and why. It never writes to the tenant.`,
		Example: "  guestsync plan --config examples/demo.yaml",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.runEngine(cmd, false, full)
		},
	}
	cmd.Flags().BoolVar(&full, "full", false, fullHelp)
	return cmd
}

const fullHelp = "read the whole source even when only its changes since the last run could be read"

func (a *app) syncCommand() *cobra.Command {
	var full bool
	cmd := &cobra.Command{
		Use:   "sync",
		Short: "Plan and apply: create and update guests in the tenant",
		Long: `Computes the plan like 'guestsync plan', prints it, applies it, and prints
a summary. A second sync on unchanged input makes no writes.`,
		Example: "  guestsync sync --config /etc/guestsync/guestsync.yaml --log-format json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.runEngine(cmd, true, full)
		},
	}
	cmd.Flags().BoolVar(&full, "full", false, fullHelp)
	return cmd
}

func (a *app) runEngine(cmd *cobra.Command, apply, full bool) error {
	c, err := a.loadConfig()
	if err != nil {
		return err
	}
	log := a.logger()
	e, err := newEngine(c, log)
	if err != nil {
		return err
	}
	e.Full = full
	run, err := e.Run(contextOf(cmd), apply)
	if err != nil {
		return withCode(exitFailed, err)
	}
	if err := run.Plan.Render(a.out, plan.RenderOptions{Color: isTerminal(a.out), Skips: true}); err != nil {
		return withCode(exitFailed, err)
	}
	if apply {
		fmt.Fprintln(a.out, applySummary(run))
		if n := run.Failed(); n > 0 {
			return withCode(exitFailed, fmt.Errorf("%d of %d actions failed", n, len(run.Results)))
		}
	}
	return nil
}

// applySummary is the line printed after applying a plan.
func applySummary(run *engine.Run) string {
	if !run.Applied {
		return "Nothing to apply."
	}
	s := fmt.Sprintf("Applied: %d created, %d updated", run.Succeeded(plan.Create), run.Succeeded(plan.Update))
	for _, k := range []struct {
		kind plan.Kind
		done string
	}{{plan.Adopt, "adopted"}, {plan.Restore, "restored"}, {plan.Disable, "disabled"}, {plan.Delete, "deleted"}} {
		if n := run.Succeeded(k.kind); n > 0 {
			s += fmt.Sprintf(", %d %s", n, k.done)
		}
	}
	s += fmt.Sprintf(", %d failed (in %s).", run.Failed(), run.Ended.Sub(run.Started).Round(1e6))
	for _, r := range run.Results {
		if r.Failure != nil {
			s += fmt.Sprintf("\n  ! %s %s (%s): %s", r.Action.Kind, r.Action.UserPrincipalName, r.Action.DN, r.Failure.Error())
		}
	}
	return s
}
