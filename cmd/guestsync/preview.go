package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/guestsync/guestsync/pkg/engine"
	"github.com/guestsync/guestsync/pkg/plan"
	"github.com/guestsync/guestsync/pkg/source/ad"
)

func (a *app) previewCommand() *cobra.Command {
	var apply bool
	var opts runOptions
	cmd := &cobra.Command{
		Use:   "preview USER",
		Short: "Show, step by step, what guestsync does with one account",
		Long: `Finds one account in the source by DN, sAMAccountName, uid,
userPrincipalName or mail, and shows each step: what was imported, whether the
scope takes it and why, what the mapping produces, which guest it matches in
the tenant, and the action. Nothing is written unless --apply is given; then
the actions for this one account are carried out, and nothing else, under
the same lock and removal threshold as sync (--allow-removals N lifts it
once).`,
		Example: "  guestsync preview zlefevre\n  guestsync preview 'CN=Zoë Lefèvre,OU=Fabrikam,OU=Partners,DC=corp,DC=contoso,DC=com' --apply",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := opts.check(); err != nil {
				return err
			}
			c, err := a.loadConfig()
			if err != nil {
				return err
			}
			e, err := newEngine(c, a.logger())
			if err != nil {
				return err
			}
			e.Limits.AllowRemovals = opts.allowRemovals
			p, err := e.Preview(contextOf(cmd), args[0], apply)
			var refused *engine.ReadRefusedError
			var limit *engine.RemovalLimitError
			switch {
			case errors.As(err, &refused):
				return a.refused(err)
			case errors.As(err, &limit):
				return withCode(exitRail, err)
			case err != nil:
				return withCode(exitFailed, err)
			}
			w := a.out
			fmt.Fprintf(w, "1. Import: %s (%d attributes)\n", p.Entry.DN, len(p.Entry.Attributes))
			for _, n := range ad.Describe(p.Entry) {
				fmt.Fprintf(w, "     %s\n", noteText(n))
			}
			if !p.Mapping.InScope {
				fmt.Fprintf(w, "2. Scope: %s\n", p.Mapping.Reason)
				if !p.Plan.HasChanges() {
					fmt.Fprintln(w, "Nothing to do: the account is out of scope.")
					return nil
				}
				// Its guest is removed, as a sync would remove it.
				fmt.Fprintf(w, "3. Match: guest %s (%s), owned by guestsync\n", p.Match.ID, p.Match.Properties["userPrincipalName"])
				return a.showPreviewPlan(p, 4, apply)
			}
			fmt.Fprintln(w, "2. Scope: in scope")
			if p.Mapping.Err != nil {
				fmt.Fprintf(w, "3. Mapping failed: %v\n", p.Mapping.Err)
				return withCode(exitFailed, fmt.Errorf("mapping failed for %s", p.Entry.DN))
			}
			fmt.Fprintf(w, "3. Mapping: anchor %s\n", p.Mapping.Account.Anchor)
			match := "no guest has this anchor: it would be created"
			if p.Match != nil {
				owned := "owned by guestsync"
				if !p.Match.Owned {
					owned = "NOT owned by guestsync"
				}
				match = fmt.Sprintf("guest %s (%s), %s", p.Match.ID, p.Match.Properties["userPrincipalName"], owned)
			}
			fmt.Fprintf(w, "4. Match: %s\n", match)
			return a.showPreviewPlan(p, 5, apply)
		},
	}
	cmd.Flags().BoolVar(&apply, "apply", false, "carry out the actions for this account")
	cmd.Flags().IntVar(&opts.allowRemovals, "allow-removals", 0, allowRemovalsHelp)
	return cmd
}

// showPreviewPlan prints a preview's actions as its step-th step and, with
// apply, what became of them.
func (a *app) showPreviewPlan(p *engine.Preview, step int, apply bool) error {
	w := a.out
	fmt.Fprintf(w, "%d. Action:\n", step)
	if err := p.Plan.Render(w, plan.RenderOptions{Color: isTerminal(w), Skips: true}); err != nil {
		return withCode(exitFailed, err)
	}
	if !apply {
		return nil
	}
	failed := 0
	for _, r := range p.Results {
		status := "done"
		if r.Failure != nil {
			status, failed = "failed: "+r.Failure.Error(), failed+1
		}
		fmt.Fprintf(w, "Applied %s: %s\n", r.Action.Kind, status)
	}
	if failed > 0 {
		return withCode(exitFailed, fmt.Errorf("%d of %d actions failed", failed, len(p.Results)))
	}
	return nil
}
