package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/guestsync/guestsync/pkg/engine"
	"github.com/guestsync/guestsync/pkg/plan"
	"github.com/guestsync/guestsync/pkg/state"
)

func (a *app) planCommand() *cobra.Command {
	var opts runOptions
	cmd := &cobra.Command{
		Use:   "plan",
		Short: "Show what a sync would change, without writing anything",
		Long: `Reads the source and the tenant, maps every entry and prints the plan:
guests to create (+), to update (~, each property old → new), to disable
or delete (-, with the reason), entries skipped and why. It never writes
to the tenant.

--out FILE saves the plan as JSON. --exit-code makes plan exit 2 when
changes are pending and 0 when there are none, for drift checks in CI.`,
		Example: "  guestsync plan --config examples/demo.yaml\n  guestsync plan --exit-code --out plan.json --report report.json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.runEngine(cmd, false, opts)
		},
	}
	f := cmd.Flags()
	f.BoolVar(&opts.full, "full", false, fullHelp)
	f.StringVar(&opts.out, "out", "", "save the plan as JSON to this file")
	f.BoolVar(&opts.exitCode, "exit-code", false, "exit 2 when changes are pending, 0 when there are none")
	f.StringVar(&opts.report, "report", "", reportHelp)
	f.StringVar(&opts.metrics, "metrics-file", "", metricsHelp)
	return cmd
}

// runOptions are the flags of plan and sync.
type runOptions struct {
	full     bool
	out      string
	exitCode bool
	report   string
	metrics  string
	// allowRemovals lifts the removal threshold for this run.
	allowRemovals int
	// expect is the reviewed plan apply must match.
	expect *plan.Plan
}

const metricsHelp = "write Prometheus text-format metrics (counts, duration, last success) to this file, for node_exporter's textfile collector"

const reportHelp = "write a JSON report (summary counts, every action and error with its Graph request id) to this file"

const fullHelp = "read the whole source even when only its changes since the last run could be read"

func (a *app) syncCommand() *cobra.Command {
	var opts runOptions
	cmd := &cobra.Command{
		Use:   "sync",
		Short: "Plan and apply: create and update guests in the tenant",
		Long: `Computes the plan like 'guestsync plan', prints it, applies it, and prints
a summary. A second sync on unchanged input makes no writes.

A plan that would disable or delete more guests than policy.removalThreshold
(500 by default; and policy.removalThresholdPercent of guestsync's guests,
when set) is printed and not applied: sync exits 3 and changes nothing.
Review it, then run sync --allow-removals N to let N removals through once.`,
		Example: "  guestsync sync --config /etc/guestsync/guestsync.yaml --log-format json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return a.runEngine(cmd, true, opts)
		},
	}
	cmd.Flags().BoolVar(&opts.full, "full", false, fullHelp)
	cmd.Flags().StringVar(&opts.report, "report", "", reportHelp)
	cmd.Flags().StringVar(&opts.metrics, "metrics-file", "", metricsHelp)
	cmd.Flags().IntVar(&opts.allowRemovals, "allow-removals", 0, allowRemovalsHelp)
	return cmd
}

const allowRemovalsHelp = "let this run disable or delete up to N guests, whatever policy.removalThreshold says"

func (a *app) applyCommand() *cobra.Command {
	var opts runOptions
	cmd := &cobra.Command{
		Use:   "apply PLAN.json",
		Short: "Apply exactly a plan saved with 'plan --out', if it still holds",
		Long: `Reads the source and the tenant again and computes the plan, as sync does.
If it is exactly the saved plan (the same actions on the same guests with
the same values), it applies it; if anything changed underneath since the
plan was made (an account, a guest, the mapping), it changes nothing,
says what differs, and exits 3: make a new plan and review that one.

The removal threshold holds here too; --allow-removals N lifts it once.`,
		Example: "  guestsync plan --out plan.json     # review plan.json, then:\n  guestsync apply plan.json --report report.json",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			data, err := os.ReadFile(args[0])
			if err != nil {
				return withCode(exitUsage, fmt.Errorf("read plan: %w", err))
			}
			var saved plan.Plan
			if err := json.Unmarshal(data, &saved); err != nil {
				return withCode(exitUsage, fmt.Errorf("%s is not a plan saved by 'guestsync plan --out': %w", args[0], err))
			}
			opts.expect = &saved
			// Read as the plan was read: a plan made with --full (or on a
			// first run) needs a full read to be the same plan.
			opts.full = !saved.Incremental
			return a.runEngine(cmd, true, opts)
		},
	}
	cmd.Flags().StringVar(&opts.report, "report", "", reportHelp)
	cmd.Flags().StringVar(&opts.metrics, "metrics-file", "", metricsHelp)
	cmd.Flags().IntVar(&opts.allowRemovals, "allow-removals", 0, allowRemovalsHelp)
	return cmd
}

func (a *app) runEngine(cmd *cobra.Command, apply bool, opts runOptions) error {
	c, err := a.loadConfig()
	if err != nil {
		return err
	}
	log := a.logger()
	e, err := newEngine(c, log)
	if err != nil {
		return err
	}
	e.Full = opts.full
	e.Rails.AllowRemovals = opts.allowRemovals
	e.Expect = opts.expect
	var tty io.Writer
	if isTerminal(a.err) {
		tty = a.err
	}
	prog := newProgress(tty, log)
	e.Progress = prog.report
	run, runErr := e.Run(contextOf(cmd), apply)
	prog.finishLine()
	if opts.report != "" {
		data, err := engine.NewReport(run, runErr).JSON()
		if err == nil {
			err = state.WriteAtomic(opts.report, data, 0o644)
		}
		if err != nil {
			return withCode(exitFailed, fmt.Errorf("report: %w", err))
		}
	}
	if opts.metrics != "" {
		if err := state.WriteAtomic(opts.metrics, engine.Metrics(run, runErr), 0o644); err != nil {
			return withCode(exitFailed, fmt.Errorf("metrics: %w", err))
		}
	}
	var rail *engine.RailError
	if errors.As(runErr, &rail) {
		// Show what would have been removed, then stop.
		if err := run.Plan.Render(a.out, plan.RenderOptions{Color: isTerminal(a.out), Skips: true}); err != nil {
			return withCode(exitFailed, err)
		}
		return withCode(exitRail, runErr)
	}
	var stale *engine.StalePlanError
	if errors.As(runErr, &stale) {
		return withCode(exitRail, runErr)
	}
	if runErr != nil {
		return withCode(exitFailed, runErr)
	}
	if err := run.Plan.Render(a.out, plan.RenderOptions{Color: isTerminal(a.out), Skips: true}); err != nil {
		return withCode(exitFailed, err)
	}
	if !apply {
		if err := e.Rails.CheckRails(run.Plan, run.Owned); err != nil && errors.As(err, &rail) {
			fmt.Fprintf(a.out, "Warning: sync would stop on this plan: %d removals, over the removal threshold of %d (%s).\n", rail.Removals, rail.Limit, rail.Why)
		}
	}
	if opts.out != "" {
		data, err := json.MarshalIndent(run.Plan, "", "  ")
		if err == nil {
			err = state.WriteAtomic(opts.out, append(data, '\n'), 0o644)
		}
		if err != nil {
			return withCode(exitFailed, fmt.Errorf("save plan: %w", err))
		}
	}
	if apply {
		fmt.Fprintln(a.out, applySummary(run))
		if n := run.Failed(); n > 0 {
			return withCode(exitFailed, fmt.Errorf("%d of %d actions failed", n, len(run.Results)))
		}
	}
	if opts.exitCode && run.Plan.HasChanges() {
		return withCode(exitUsage, errors.New("")) // 2: changes pending; the plan says which
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
