package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/guestsync/guestsync/pkg/atomicfile"
	"github.com/guestsync/guestsync/pkg/engine"
	"github.com/guestsync/guestsync/pkg/plan"
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

// check refuses flag values that mean nothing; they exit with 2.
func (o runOptions) check() error {
	if o.allowRemovals < 0 {
		return withCode(exitUsage, fmt.Errorf("--allow-removals must be 0 or more, not %d", o.allowRemovals))
	}
	return nil
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
			if err := opts.check(); err != nil {
				return err
			}
			data, err := os.ReadFile(args[0])
			if err != nil {
				return withCode(exitUsage, fmt.Errorf("read plan: %w", err))
			}
			saved, err := plan.Decode(args[0], data)
			if err != nil {
				return withCode(exitUsage, err)
			}
			opts.expect = saved // the engine reads as the plan's run read
			return a.runEngine(cmd, true, opts)
		},
	}
	cmd.Flags().StringVar(&opts.report, "report", "", reportHelp)
	cmd.Flags().StringVar(&opts.metrics, "metrics-file", "", metricsHelp)
	cmd.Flags().IntVar(&opts.allowRemovals, "allow-removals", 0, allowRemovalsHelp)
	return cmd
}

func (a *app) runEngine(cmd *cobra.Command, apply bool, opts runOptions) error {
	if err := opts.check(); err != nil {
		return err
	}
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
	e.Limits.AllowRemovals = opts.allowRemovals
	e.Expect = opts.expect
	var tty io.Writer
	if isTerminal(a.err) {
		tty = a.err
	}
	prog := newProgress(tty, log)
	e.Progress = prog.report
	prog.start()
	run, runErr := e.Run(contextOf(cmd), apply)
	prog.stop()
	result := a.showRun(e, run, runErr, apply, opts)
	// The report and the metrics are written whatever the run did; one
	// that cannot be written is said, and never hides the run's outcome.
	failed := a.writeOutputs(run, runErr, opts)
	if failed == 0 {
		return result
	}
	if result == nil || errors.Is(result, errChangesPending) {
		// A success (or plan --exit-code's "changes pending") with an
		// output lost is a failure: nothing else would show it.
		return withCode(exitFailed, errOutputLost)
	}
	return result
}

// refused says on stdout that a run refused its source read (why is in
// err, printed once on stderr) and gives its exit code.
func (a *app) refused(err error) error {
	fmt.Fprintln(a.out, "Refused: the source read cannot be trusted; nothing changed.")
	return withCode(exitRefused, err)
}

// showRun prints what a run did and returns what sets its exit code.
func (a *app) showRun(e *engine.Engine, run *engine.Run, runErr error, apply bool, opts runOptions) error {
	var rail *engine.RemovalLimitError
	var stale *engine.StalePlanError
	var refused *engine.ReadRefusedError
	switch {
	case errors.As(runErr, &rail):
		// Show what would have been removed, then stop.
		if err := run.Plan.Render(a.out, plan.RenderOptions{Color: isTerminal(a.out), Skips: true}); err != nil {
			return withCode(exitFailed, err)
		}
		return withCode(exitRail, runErr)
	case errors.As(runErr, &stale):
		return withCode(exitRail, runErr)
	case errors.As(runErr, &refused):
		return a.refused(runErr)
	case runErr != nil:
		return withCode(exitFailed, runErr)
	}
	if err := run.Plan.Render(a.out, plan.RenderOptions{Color: isTerminal(a.out), Skips: true}); err != nil {
		return withCode(exitFailed, err)
	}
	if !apply {
		if err := e.Limits.Check(run.Plan, run.Owned); err != nil && errors.As(err, &rail) {
			fmt.Fprintf(a.out, "Warning: sync would stop on this plan: %d removals, over the removal threshold of %d (%s).\n", rail.Removals, rail.Limit, rail.Why)
		}
	}
	if opts.out != "" {
		data, err := json.MarshalIndent(run.Plan, "", "  ")
		if err == nil {
			err = atomicfile.Write(opts.out, append(data, '\n'), 0o644)
		}
		if err != nil {
			return withCode(exitFailed, fmt.Errorf("save plan: %w", err))
		}
	}
	if apply {
		fmt.Fprintln(a.out, applySummary(run))
	}
	if n := run.FailedObjects(); n > 0 {
		return withCode(exitFailed, fmt.Errorf("%d object(s) failed: %d mapping (skipped, see the plan), %d of %d actions",
			n, run.MappingFailed, run.Failed(), len(run.Results)))
	}
	if opts.exitCode && run.Plan.HasChanges() {
		return withCode(exitUsage, errChangesPending)
	}
	return nil
}

// writeOutputs writes the --report and --metrics-file of a run, says on
// stderr why one could not be written, and returns how many could not.
func (a *app) writeOutputs(run *engine.Run, runErr error, opts runOptions) int {
	failed := 0
	write := func(what, path string, data func() ([]byte, error)) {
		if path == "" {
			return
		}
		b, err := data()
		if err == nil {
			err = atomicfile.Write(path, b, 0o644)
		}
		if err != nil {
			fmt.Fprintf(a.err, "guestsync: %s: %v\n", what, err)
			failed++
		}
	}
	write("report", opts.report, func() ([]byte, error) { return engine.NewReport(run, runErr).JSON() })
	write("metrics", opts.metrics, func() ([]byte, error) { return engine.Metrics(run, runErr), nil })
	return failed
}

// applySummary is the line printed after applying a plan.
func applySummary(run *engine.Run) string {
	if !run.Applied {
		if run.MappingFailed > 0 {
			return fmt.Sprintf("Nothing to apply; %d mapping failed.", run.MappingFailed)
		}
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
	s += fmt.Sprintf(", %d failed", run.Failed())
	if run.MappingFailed > 0 {
		s += fmt.Sprintf(", %d mapping failed", run.MappingFailed)
	}
	s += fmt.Sprintf(" (in %s).", run.Ended.Sub(run.Started).Round(1e6))
	for _, r := range run.Results {
		if r.Failure != nil {
			s += fmt.Sprintf("\n  ! %s %s (%s): %s", r.Action.Kind, r.Action.Name, r.Action.Source, r.Failure.Error())
		}
	}
	return s
}
