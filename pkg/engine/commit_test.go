package engine

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/guestsync/guestsync/pkg/plan"
	"github.com/guestsync/guestsync/pkg/source"
	"github.com/guestsync/guestsync/pkg/state"
)

func TestCommit(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 8, 3, 0, 0, 0, time.UTC)
	earlier, lastWeek := now.Add(-time.Hour), now.Add(-7*24*time.Hour)
	failed := &plan.Failure{Message: "Service Unavailable"}
	act := func(k plan.Kind, anchor string) plan.Action { return plan.Action{Kind: k, Anchor: anchor} }
	ok := func(a plan.Action) plan.Result { return plan.Result{Action: a} }
	bad := func(a plan.Action) plan.Result { return plan.Result{Action: a, Failure: failed} }
	fullRead := source.Result{Entries: 3, Complete: true, Watermark: "w2"}
	changesRead := source.Result{Entries: 1, Complete: true, Incremental: true, Watermark: "w2"}
	prevSource := state.Source{Watermark: "w1", Entries: 5, FullReadAt: lastWeek}
	prevTarget := state.Target{Tenant: "t1", DeltaLink: "link1", Disabled: map[string]time.Time{"gone": lastWeek}}

	type want struct {
		source      state.Source
		target      *state.Target // nil: no target remembered
		lastSuccess time.Time
	}
	cases := map[string]struct {
		pl      planned
		results []plan.Result
		want    want
	}{
		"a full read whose actions all succeed moves the watermark and the last success": {
			pl: planned{key: "k", read: fullRead, plan: &plan.Plan{GraceClocks: map[string]time.Time{"gone": lastWeek}},
				tr: targetRead{key: "t", clocks: prevTarget.Disabled, next: &state.Target{Tenant: "t1", DeltaLink: "link2"}}},
			results: []plan.Result{ok(act(plan.Create, "a"))},
			want: want{source: state.Source{Watermark: "w2", Entries: 3, FullReadAt: now},
				target:      &state.Target{Tenant: "t1", DeltaLink: "link2", Disabled: map[string]time.Time{"gone": lastWeek}},
				lastSuccess: now},
		},
		"an incremental read keeps the entry count and the last full read's time": {
			pl:   planned{key: "k", read: changesRead, plan: &plan.Plan{}, tr: targetRead{key: "t", next: &state.Target{DeltaLink: "link2"}}},
			want: want{source: state.Source{Watermark: "w2", Entries: 5, FullReadAt: lastWeek}, target: &state.Target{DeltaLink: "link2"}, lastSuccess: now},
		},
		"a failed action keeps the watermark and the last success, but the delta position moves": {
			pl:      planned{key: "k", read: fullRead, plan: &plan.Plan{}, tr: targetRead{key: "t", next: &state.Target{DeltaLink: "link2"}}},
			results: []plan.Result{ok(act(plan.Create, "a")), bad(act(plan.Update, "b"))},
			want:    want{source: prevSource, target: &state.Target{DeltaLink: "link2"}, lastSuccess: earlier},
		},
		"a failed mapping keeps the watermark and the last success": {
			pl:   planned{key: "k", read: fullRead, plan: &plan.Plan{}, mappingFailed: 1, tr: targetRead{key: "t", next: &state.Target{DeltaLink: "link2"}}},
			want: want{source: prevSource, target: &state.Target{DeltaLink: "link2"}, lastSuccess: earlier},
		},
		"a failed disable keeps no clock": {
			pl: planned{key: "k", read: fullRead, plan: &plan.Plan{GraceClocks: map[string]time.Time{"b": now}},
				tr: targetRead{key: "t", next: &state.Target{DeltaLink: "link2"}}},
			results: []plan.Result{bad(act(plan.Disable, "b"))},
			want:    want{source: prevSource, target: &state.Target{DeltaLink: "link2"}, lastSuccess: earlier},
		},
		"a failed delete keeps its old clock": {
			pl: planned{key: "k", read: fullRead, plan: &plan.Plan{GraceClocks: map[string]time.Time{"gone": lastWeek}},
				tr: targetRead{key: "t", clocks: prevTarget.Disabled, next: &state.Target{DeltaLink: "link2"}}},
			results: []plan.Result{bad(act(plan.Delete, "gone"))},
			want: want{source: prevSource, target: &state.Target{DeltaLink: "link2", Disabled: map[string]time.Time{"gone": lastWeek}},
				lastSuccess: earlier},
		},
		"a disable that succeeds starts its clock": {
			pl: planned{key: "k", read: fullRead, plan: &plan.Plan{GraceClocks: map[string]time.Time{"b": now}},
				tr: targetRead{key: "t", next: &state.Target{DeltaLink: "link2"}}},
			results: []plan.Result{ok(act(plan.Disable, "b"))},
			want: want{source: state.Source{Watermark: "w2", Entries: 3, FullReadAt: now},
				target: &state.Target{DeltaLink: "link2", Disabled: map[string]time.Time{"b": now}}, lastSuccess: now},
		},
		"a restore resets the change-tracking position": {
			pl:      planned{key: "k", read: fullRead, plan: &plan.Plan{}, tr: targetRead{key: "t", next: &state.Target{Tenant: "t1", DeltaLink: "link2"}}},
			results: []plan.Result{ok(act(plan.Restore, "r"))},
			want: want{source: state.Source{Watermark: "w2", Entries: 3, FullReadAt: now},
				target: &state.Target{Tenant: "t1"}, lastSuccess: now},
		},
		"a failed restore resets it too": {
			pl:      planned{key: "k", read: fullRead, plan: &plan.Plan{}, tr: targetRead{key: "t", next: &state.Target{DeltaLink: "link2"}}},
			results: []plan.Result{bad(act(plan.Restore, "r"))},
			want:    want{source: prevSource, target: &state.Target{}, lastSuccess: earlier},
		},
		"a target without change tracking keeps what it had, with the new clocks": {
			pl: planned{key: "k", read: fullRead, plan: &plan.Plan{GraceClocks: map[string]time.Time{"b": now}},
				tr: targetRead{key: "old"}},
			want: want{source: state.Source{Watermark: "w2", Entries: 3, FullReadAt: now},
				target: &state.Target{Tenant: "t0", Disabled: map[string]time.Time{"b": now}}, lastSuccess: now},
		},
		"a target with nothing to remember is not kept": {
			pl:   planned{key: "k", read: fullRead, plan: &plan.Plan{}, tr: targetRead{key: "new"}},
			want: want{source: state.Source{Watermark: "w2", Entries: 3, FullReadAt: now}, lastSuccess: now},
		},
		"a preview's plan moves neither the watermark nor the last success": {
			pl: planned{key: "k", partial: true, read: fullRead, plan: &plan.Plan{GraceClocks: map[string]time.Time{"b": now}},
				tr: targetRead{key: "t", next: &state.Target{DeltaLink: "link2"}}},
			results: []plan.Result{ok(act(plan.Disable, "b"))},
			want: want{source: prevSource, target: &state.Target{DeltaLink: "link2", Disabled: map[string]time.Time{"b": now}},
				lastSuccess: earlier},
		},
		"a reader without a key remembers no watermark": {
			pl:   planned{key: "", read: fullRead, plan: &plan.Plan{}, tr: targetRead{key: "t", next: &state.Target{}}},
			want: want{source: prevSource, target: &state.Target{}, lastSuccess: now},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			st := &state.State{Version: state.FormatVersion, LastSuccess: earlier,
				Sources: map[string]state.Source{"k": prevSource},
				Targets: map[string]state.Target{"t": prevTarget, "old": {Tenant: "t0"}, "other": {Tenant: "t9"}}}
			next := commit(st, tc.pl, tc.results, now)

			assert.Equal(t, tc.want.source, next.Sources["k"])
			assert.Equal(t, tc.want.lastSuccess, next.LastSuccess)
			if tc.want.target == nil {
				assert.Empty(t, next.Targets)
			} else {
				assert.Equal(t, map[string]state.Target{tc.pl.tr.key: *tc.want.target}, next.Targets, "only the current target is kept")
			}
			// commit changes nothing it is given.
			assert.Equal(t, prevSource, st.Sources["k"])
			assert.Equal(t, earlier, st.LastSuccess)
			assert.Len(t, st.Targets, 3)
			assert.Equal(t, "link1", st.Targets["t"].DeltaLink)
		})
	}
}
