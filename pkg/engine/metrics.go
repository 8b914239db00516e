package engine

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Metrics renders a run in the Prometheus text exposition format, for
// node_exporter's textfile collector (write the file atomically, which
// atomicfile.Write does). Alert on guestsync_last_success_timestamp_seconds
// growing old rather than on a single failed run.
func Metrics(run *Run, runErr error) []byte {
	var b strings.Builder
	metric := func(name, help, typ string) {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, typ)
	}
	outcome := Outcome(run, runErr)
	metric("guestsync_run_success", "1 if the last run finished with every action done and every entry mapped, else 0.", "gauge")
	fmt.Fprintf(&b, "guestsync_run_success %d\n", boolInt(outcome == OutcomeSucceeded))
	metric("guestsync_run_outcome", "1 for how the last run ended: succeeded, objects_failed, refused (an untrusted read), stopped (a safety rail) or failed.", "gauge")
	for _, o := range outcomes() {
		fmt.Fprintf(&b, "guestsync_run_outcome{outcome=%q} %d\n", o, boolInt(o == outcome))
	}
	var refused *ReadRefusedError
	errors.As(runErr, &refused)
	metric("guestsync_run_refused", "1 if the last run refused to plan on its source read, by reason: empty_read (no entries where some were expected) or incomplete_read.", "gauge")
	for _, reason := range []string{RefusedEmpty, RefusedIncomplete} {
		fmt.Fprintf(&b, "guestsync_run_refused{reason=%q} %d\n", reason, boolInt(refused != nil && refused.Reason == reason))
	}
	metric("guestsync_objects_failed", "Objects that failed in the last run, by stage: mapping (entries skipped because their mapping failed) or apply (actions Graph refused or that could not be sent).", "gauge")
	fmt.Fprintf(&b, "guestsync_objects_failed{stage=\"apply\"} %d\n", run.Failed())
	fmt.Fprintf(&b, "guestsync_objects_failed{stage=\"mapping\"} %d\n", run.MappingFailed)
	metric("guestsync_run_applied", "1 if the last run applied its plan (sync), 0 for a plan-only run or nothing to do.", "gauge")
	fmt.Fprintf(&b, "guestsync_run_applied %d\n", boolInt(run.Applied))
	metric("guestsync_run_duration_seconds", "How long the last run took.", "gauge")
	fmt.Fprintf(&b, "guestsync_run_duration_seconds %g\n", run.Ended.Sub(run.Started).Seconds())
	metric("guestsync_phase_duration_seconds", "How long each phase of the last run took: list (the tenant), read and map (the source), plan, apply, state (loading and saving the state file).", "gauge")
	for _, ph := range []struct {
		name string
		d    time.Duration
	}{{"list", run.Timings.List}, {"read", run.Timings.Read}, {"map", run.Timings.Map}, {"plan", run.Timings.Plan}, {"apply", run.Timings.Apply}, {"state", run.Timings.State}} {
		fmt.Fprintf(&b, "guestsync_phase_duration_seconds{phase=%q} %g\n", ph.name, ph.d.Seconds())
	}
	metric("guestsync_last_run_timestamp_seconds", "When the last run ended (Unix time).", "gauge")
	fmt.Fprintf(&b, "guestsync_last_run_timestamp_seconds %d\n", run.Ended.Unix())
	metric("guestsync_last_success_timestamp_seconds", "When a sync last succeeded (Unix time; 0 if never).", "gauge")
	last := int64(0)
	if !run.LastSuccess.IsZero() {
		last = run.LastSuccess.Unix()
	}
	fmt.Fprintf(&b, "guestsync_last_success_timestamp_seconds %d\n", last)
	metric("guestsync_source_entries", "Entries the last run read from the source.", "gauge")
	fmt.Fprintf(&b, "guestsync_source_entries %d\n", run.Read.Entries)

	r := NewReport(run, runErr)
	metric("guestsync_actions", "Actions of the last run by kind and status (planned, done, failed, skipped).", "gauge")
	counts := map[string]int{}
	for _, a := range r.Actions {
		counts[fmt.Sprintf(`kind=%q,status=%q`, a.Kind, a.Status)]++
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "guestsync_actions{%s} %d\n", k, counts[k])
	}
	metric("guestsync_guests_unchanged", "Guests that already matched their source in the last run.", "gauge")
	fmt.Fprintf(&b, "guestsync_guests_unchanged %d\n", r.Summary.Unchanged)
	return []byte(b.String())
}

func boolInt(v bool) int {
	if v {
		return 1
	}
	return 0
}
