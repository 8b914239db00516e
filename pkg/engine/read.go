package engine

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/guestsync/guestsync/pkg/source"
	"github.com/guestsync/guestsync/pkg/state"
)

// ReadPolicy says when a read is full although a watermark is stored.
type ReadPolicy struct {
	// Full: always.
	Full bool
	// Every: when the last complete full read is older than this (0:
	// never for that reason), measured at Now.
	Every time.Duration
	Now   time.Time
}

// readPolicy is the engine's, for the source and the target alike. A
// reviewed plan is applied on reads made as the plan's were: full when
// the plan's source read was full (it was made with --full, or on a first
// run), never turned full by the clock.
func (e *Engine) readPolicy() ReadPolicy {
	rp := ReadPolicy{Full: e.Full, Every: e.FullReadEvery, Now: e.now()}
	if e.Expect != nil {
		rp.Full, rp.Every = !e.Expect.Incremental, 0
	}
	return rp
}

// readMode is how a read of a source goes, decided once per run by
// chooseRead (the clock must not decide twice).
type readMode struct {
	// Key names the source in the state ("" for a reader that keeps no
	// state: it is always read whole).
	Key string
	// Since is the watermark to read changes since; "" reads fully.
	Since string
	// Why says why a stored watermark is not used ("" when it is, or
	// there is none).
	Why string
}

// chooseRead decides how the next read of src goes under rp, from what st
// remembers of it.
func chooseRead(src source.Reader, st *state.State, rp ReadPolicy) readMode {
	cr, ok := src.(source.ChangeReader)
	if !ok {
		return readMode{}
	}
	m := readMode{Key: cr.Key()}
	prev := st.Sources[m.Key]
	switch {
	case prev.Watermark == "":
	case rp.Full:
		m.Why = "full read requested"
	case rp.Every > 0 && prev.FullReadAt.IsZero():
		m.Why = "no full read on record (source.fullReadEvery)"
	case rp.Every > 0 && rp.Now.Sub(prev.FullReadAt) >= rp.Every:
		m.Why = fmt.Sprintf("the last full read was %s ago, source.fullReadEvery is %s",
			rp.Now.Sub(prev.FullReadAt).Round(time.Minute), rp.Every)
	default:
		m.Since = prev.Watermark
	}
	return m
}

// readSource reads src as m says: only its changes since m.Since, or
// fully.
func readSource(ctx context.Context, src source.Reader, m readMode, log *slog.Logger, fn func(source.Entry) error) (source.Result, error) {
	switch {
	case m.Since != "":
		log.Info("reading changes since the last run", "source", m.Key)
		return src.(source.ChangeReader).ReadChanges(ctx, m.Since, fn)
	case m.Why != "":
		log.Info("full read", "source", m.Key, "why", m.Why)
	}
	return src.Read(ctx, fn)
}

// ReadSource reads the source as the next run would (only its changes when
// a watermark is stored and rp does not make the read full), for
// inspection: it takes no lock and changes no state.
func ReadSource(ctx context.Context, src source.Reader, statePath string, rp ReadPolicy, log *slog.Logger, fn func(source.Entry) error) (source.Result, error) {
	st := &state.State{Sources: map[string]state.Source{}}
	if statePath != "" {
		var err error
		if st, err = state.Load(statePath); err != nil {
			return source.Result{}, err
		}
	}
	m := chooseRead(src, st, rp)
	res, err := readSource(ctx, src, m, log, fn)
	if err != nil {
		return res, err
	}
	// The tenant is not read here: only an empty read where the last full
	// read found entries is refused.
	if refused := refuseRead(res, st.Sources[m.Key], 0); refused != nil {
		return res, refused
	}
	return res, nil
}

// Why a run refuses a read, as the metrics label them.
const (
	RefusedEmpty      = "empty_read"
	RefusedIncomplete = "incomplete_read"
)

// ReadRefusedError is a run stopped before it planned anything because the
// source read cannot be trusted: incomplete, or empty where entries were
// expected. Nothing is changed, and the run is not a success.
type ReadRefusedError struct {
	// Reason is RefusedEmpty or RefusedIncomplete.
	Reason string
	// Why says what was wrong with the read, for people.
	Why string
}

func (e *ReadRefusedError) Error() string {
	what := "incomplete read"
	if e.Reason == RefusedEmpty {
		what = "empty read"
	}
	return fmt.Sprintf("read source: %s, refusing to plan on it: %s", what, e.Why)
}

// refuseRead says why a read cannot be planned on, or returns nil. prev is
// what the state remembers of the source's last read; owned counts the
// guests guestsync owns in the tenant. A full read that finds nothing
// where the last full read found entries, or while guestsync owns guests,
// is far more often a broken filter, a moved OU, a permission change or an
// export cut short than every partner leaving at once: it must never look
// like a complete, empty directory (Keycloak and authentik users lost
// accounts that way).
func refuseRead(res source.Result, prev state.Source, owned int) *ReadRefusedError {
	if !res.Complete {
		why := res.Incomplete
		if why == "" {
			why = fmt.Sprintf("the read stopped after %d entries", res.Entries)
		}
		return &ReadRefusedError{Reason: RefusedIncomplete, Why: why}
	}
	if res.Incremental || res.Entries > 0 {
		return nil
	}
	const check = "check the source's path, base DN, filter and permissions"
	switch {
	case prev.Entries > 0:
		return &ReadRefusedError{Reason: RefusedEmpty, Why: fmt.Sprintf(
			"the source returned no entries, where the last full read returned %d; %s", prev.Entries, check)}
	case owned > 0:
		return &ReadRefusedError{Reason: RefusedEmpty, Why: fmt.Sprintf(
			"the source returned no entries, while guestsync owns %d guests in the tenant; %s", owned, check)}
	}
	return nil
}

// guardRead turns a read that refuseRead refuses into an incomplete one,
// so that no caller takes it for a complete read.
func guardRead(res source.Result, prev state.Source, owned int) source.Result {
	if r := refuseRead(res, prev, owned); r != nil && res.Complete {
		res.Complete, res.Incomplete = false, r.Why
	}
	return res
}
