package engine

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/guestsync/guestsync/pkg/source"
	"github.com/guestsync/guestsync/pkg/state"
)

// howToRead is how the next read of src goes: the key under which its
// state is kept ("" for a reader that keeps none), and the watermark to
// read changes since ("" for a full read: no watermark stored, or full).
func howToRead(src source.Reader, st *state.State, full bool) (key, since string) {
	cr, ok := src.(source.ChangeReader)
	if !ok {
		return "", ""
	}
	key = cr.Key()
	if !full {
		since = st.Sources[key].Watermark
	}
	return key, since
}

// readSource reads the source fully, or only its changes when it can and a
// watermark is stored and Full is not set. It returns the key under which
// the source's state is kept ("" for a reader that keeps none).
func (e *Engine) readSource(ctx context.Context, st *state.State, fn func(source.Entry) error) (source.Result, string, error) {
	return readSource(ctx, e.Source, st, e.Full, e.log(), fn)
}

func readSource(ctx context.Context, src source.Reader, st *state.State, full bool, log *slog.Logger, fn func(source.Entry) error) (source.Result, string, error) {
	key, since := howToRead(src, st, full)
	switch {
	case key == "":
		res, err := src.Read(ctx, fn)
		return res, "", err
	case since != "":
		log.Info("reading changes since the last run", "source", key)
		res, err := src.(source.ChangeReader).ReadChanges(ctx, since, fn)
		return res, key, err
	case full && st.Sources[key].Watermark != "":
		log.Info("full read requested", "source", key)
	}
	res, err := src.Read(ctx, fn)
	return res, key, err
}

// ReadSource reads the source as the next run would (only its changes when
// a watermark is stored and full is false), for inspection: it takes no
// lock and changes no state.
func ReadSource(ctx context.Context, src source.Reader, statePath string, full bool, log *slog.Logger, fn func(source.Entry) error) (source.Result, error) {
	st := &state.State{Sources: map[string]state.Source{}}
	if statePath != "" {
		var err error
		if st, err = state.Load(statePath); err != nil {
			return source.Result{}, err
		}
	}
	res, key, err := readSource(ctx, src, st, full, log, fn)
	if err == nil {
		res = guardRead(res, st.Sources[key])
	}
	return res, err
}

// guardRead turns a read that cannot be trusted into an incomplete one.
// A full read that finds nothing where the last full read found entries is
// far more often a broken filter, a moved OU or a permission change than
// every partner leaving at once: it must never look like a complete,
// empty directory (Keycloak and authentik users lost accounts that way).
func guardRead(res source.Result, prev state.Source) source.Result {
	if res.Complete && !res.Incremental && res.Entries == 0 && prev.Entries > 0 {
		res.Complete = false
		res.Incomplete = fmt.Sprintf("the source returned no entries, where the last full read returned %d; "+
			"check the connection's base DN, filter and permissions", prev.Entries)
	}
	return res
}

// remember records a read whose run succeeded, so that the next run can
// read only what changed since.
func remember(st *state.State, key string, res source.Result, now time.Time) {
	if key == "" {
		return
	}
	s := st.Sources[key]
	if res.Watermark != "" {
		s.Watermark = res.Watermark
	}
	if !res.Incremental {
		s.Entries = res.Entries
		s.FullReadAt = now
	}
	st.Sources[key] = s
}
