package ldap

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/guestsync/guestsync/pkg/source"
	"github.com/guestsync/guestsync/pkg/source/ad"
)

// responseBuffer is how many results go-ldap may read ahead of fn. Memory
// stays bounded by it whatever the page size.
const responseBuffer = 64

// callbackError marks an error returned by fn, which Read passes on
// rather than reporting as a search failure.
type callbackError struct{ err error }

func (e *callbackError) Error() string { return e.err.Error() }
func (e *callbackError) Unwrap() error { return e.err }

// pageStats is what a read has seen so far.
type pageStats struct {
	entries   int
	referrals int
}

// search runs the paged search on a bound connection.
func (r *Reader) search(ctx context.Context, conn *goldap.Conn, u *url.URL, fn func(source.Entry) error) (source.Result, error) {
	scope := goldap.ScopeWholeSubtree
	if r.cfg.Scope == "one" {
		scope = goldap.ScopeSingleLevel
	}
	var paging *goldap.ControlPaging
	var controls []goldap.Control
	if !r.cfg.NoPaging {
		paging = goldap.NewControlPaging(r.cfg.PageSize)
		controls = append(controls, paging)
	}
	// No time limit is sent: a server counts the time it waits for us to
	// take entries, and a slow fn should not fail the read. Timeout bounds
	// our waits for the server instead (see page).
	req := goldap.NewSearchRequest(r.cfg.BaseDN, scope, goldap.NeverDerefAliases, 0, 0, false,
		r.cfg.Filter, r.cfg.requestedAttributes(), controls)

	start := time.Now()
	var st pageStats
	for page := 1; ; page++ {
		cookie, err := r.page(ctx, conn, req, fn, &st)
		if err != nil {
			res := source.Result{Entries: st.entries}
			if cb := (*callbackError)(nil); errors.As(err, &cb) {
				return res, cb.err
			}
			return res, fmt.Errorf("search %s for %s under %q (page %d, after %d entries): %w",
				u, r.cfg.Filter, r.cfg.BaseDN, page, st.entries, r.explainSearch(ctx, err, st))
		}
		if paging == nil || len(cookie) == 0 {
			r.log.Debug("ldap search done", "url", u.String(), "entries", st.entries, "pages", page,
				"referralsSkipped", st.referrals, "duration", time.Since(start))
			return source.Result{Entries: st.entries, Complete: true}, nil
		}
		paging.SetCookie(cookie)
	}
}

// page runs one search request, hands its entries to fn as they arrive,
// and returns the cookie for the next page (none after the last page).
//
// go-ldap's per-request timeout is not used here: while it is set, go-ldap
// drops a response it cannot deliver within that time, so a slow fn would
// silently lose entries. Instead a watchdog runs only while we wait for the
// server, and cancelling the request is an error, never a short page.
func (r *Reader) page(ctx context.Context, conn *goldap.Conn, req *goldap.SearchRequest, fn func(source.Entry) error, st *pageStats) ([]byte, error) {
	pageCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var timedOut atomic.Bool
	watchdog := time.AfterFunc(r.cfg.Timeout, func() {
		timedOut.Store(true)
		cancel()
	})
	defer watchdog.Stop()

	resp := conn.SearchAsync(pageCtx, req, responseBuffer)
	var cookie []byte
	for {
		watchdog.Reset(r.cfg.Timeout)
		more := resp.Next()
		watchdog.Stop()
		if !more {
			break
		}
		switch {
		case resp.Entry() != nil:
			e := toEntry(resp.Entry())
			r.reportUndecodable(e)
			if err := fn(e); err != nil {
				return nil, &callbackError{fmt.Errorf("entry %q: %w", e.DN, err)}
			}
			st.entries++
		case resp.Referral() != "":
			// A continuation reference: part of the tree lives on another
			// server (AD: DomainDnsZones, Configuration). Not followed.
			st.referrals++
			r.log.Debug("ldap referral skipped", "referral", resp.Referral())
		default:
			if c, ok := goldap.FindControl(resp.Controls(), goldap.ControlTypePaging).(*goldap.ControlPaging); ok {
				cookie = c.Cookie
			}
		}
	}
	if err := resp.Err(); err != nil {
		return nil, err
	}
	// go-ldap ends a cancelled search quietly: that is not the end of a page.
	if timedOut.Load() {
		return nil, fmt.Errorf("no answer from the server for %s", r.cfg.Timeout)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return cookie, nil
}

// explainSearch adds what a result code means for guestsync.
func (r *Reader) explainSearch(ctx context.Context, err error, st pageStats) error {
	var lerr *goldap.Error
	switch {
	case ctx.Err() != nil:
		return errCtx(ctx, err)
	case !errors.As(err, &lerr):
		return err
	case lerr.ResultCode == goldap.LDAPResultSizeLimitExceeded && r.cfg.NoPaging:
		return fmt.Errorf("the server's size limit stopped the search after %d entries; turn paging on: %w", st.entries, err)
	case lerr.ResultCode == goldap.LDAPResultSizeLimitExceeded:
		return fmt.Errorf("the server's size limit stopped the search after %d entries (does it ignore the paged-results control?): %w", st.entries, err)
	case lerr.ResultCode == goldap.LDAPResultTimeLimitExceeded:
		return fmt.Errorf("the server's time limit stopped the search: %w", err)
	case lerr.ResultCode == goldap.LDAPResultNoSuchObject:
		return fmt.Errorf("base DN %q does not exist: %w", r.cfg.BaseDN, err)
	case lerr.ResultCode == goldap.LDAPResultReferral:
		// The whole base is held elsewhere: nothing was read here, and
		// treating that as a complete, empty directory would remove every
		// guest.
		return fmt.Errorf("the server referred the whole search elsewhere: point url at a server that holds %q: %w", r.cfg.BaseDN, err)
	}
	return err
}

// reportUndecodable warns, once per entry, about text attributes whose
// values are not valid UTF-8: the entry is still passed on with the exact
// bytes, and a mapping that uses such a value fails for that entry alone.
func (r *Reader) reportUndecodable(e source.Entry) {
	var bad []string
	for name, values := range e.Attributes {
		if ad.IsBinary(name) {
			continue
		}
		for _, v := range values {
			if !utf8.ValidString(v) {
				bad = append(bad, name)
				break
			}
		}
	}
	if len(bad) > 0 {
		sort.Strings(bad)
		r.log.Warn("values that are not valid UTF-8 text", "dn", e.DN, "attributes", strings.Join(bad, ","))
	}
}

// toEntry converts with ByteValues, so that binary values such as
// objectGUID keep their exact bytes.
func toEntry(e *goldap.Entry) source.Entry {
	out := source.Entry{DN: e.DN, Attributes: make(map[string][]string, len(e.Attributes))}
	for _, a := range e.Attributes {
		vals := make([]string, len(a.ByteValues))
		for i, b := range a.ByteValues {
			vals[i] = string(b)
		}
		out.Attributes[a.Name] = append(out.Attributes[a.Name], vals...)
	}
	return out
}
