package ldap

import (
	"context"
	"errors"
	"fmt"
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

// searchHandlers receive what a search returns, in order.
type searchHandlers struct {
	entry func(*goldap.Entry) error
	// With record set, record receives the entries instead of entry,
	// decoded and noted (see tappedEntry) by the connection's tap, or by
	// go-ldap without one; referrals then come after the entries of their
	// page.
	record   func(tappedEntry) error
	referral func(string) error
	// done, if set, receives the controls of each page's final result
	// (DirSync's cookie comes there).
	done func([]goldap.Control)
}

// runSearch runs req on conn to the end, page after page when paged, and
// returns how many pages it asked for. How a page is read follows from
// how the connection was opened (see Reader.dial): with the tap, streamed
// as it arrives (tappedPage, or page for the reads that want go-ldap's
// entries); without, whole (wholePage).
func (r *Reader) runSearch(ctx context.Context, conn *connection, req *goldap.SearchRequest, paged bool, h searchHandlers) (int, error) {
	var paging *goldap.ControlPaging
	if paged {
		paging = goldap.NewControlPaging(r.cfg.PageSize)
		req.Controls = append(req.Controls, paging)
	}
	for page := 1; ; page++ {
		var ctl *goldap.ControlPaging
		var err error
		switch {
		case conn.tap == nil:
			ctl, err = r.wholePage(ctx, conn.Conn, req, h)
		case h.record != nil:
			ctl, err = r.tappedPage(ctx, conn, req, h)
		default:
			ctl, err = r.page(ctx, conn.Conn, req, h)
		}
		switch {
		case err != nil:
			return page, err
		case paging == nil:
			return page, nil
		case ctl == nil:
			// RFC 2696 section 3: the server returns the control with
			// every page, its cookie empty on the last. Without it the
			// end of the results cannot be told from a page (a server
			// that ignores the control sends everything at once, but a
			// proxy that drops controls would end the read after one
			// page and count the rest as gone).
			return page, fmt.Errorf("the server ended page %d of a paged search without the paged-results control, so the read cannot tell whether more pages follow (RFC 2696 says a server returns it with every page)", page)
		case len(ctl.Cookie) == 0:
			return page, nil
		}
		paging.SetCookie(ctl.Cookie)
	}
}

// newSearch is a search request as guestsync sends them. No time limit is
// sent: a server counts the time it waits for us to take entries, and a
// slow fn should not fail the read. Timeout bounds our waits for the
// server instead (see page).
func newSearch(dn string, scope int, filter string, attrs []string) *goldap.SearchRequest {
	return goldap.NewSearchRequest(dn, scope, goldap.NeverDerefAliases, 0, 0, false, filter, attrs, nil)
}

// readEntry reads the entry dn with attrs on conn. It returns nil and no
// error when the server sends no entry.
func (r *Reader) readEntry(ctx context.Context, conn *connection, dn string, attrs []string) (*goldap.Entry, error) {
	var found *goldap.Entry
	_, err := r.runSearch(ctx, conn, newSearch(dn, goldap.ScopeBaseObject, "(objectClass=*)", attrs), false, searchHandlers{
		entry:    func(e *goldap.Entry) error { found = e; return nil },
		referral: func(string) error { return nil },
	})
	if err != nil {
		return nil, r.explainRead(ctx, err)
	}
	return found, nil
}

// page runs one search request on a tapped connection whose tap takes no
// entries, hands its entries and referrals to h as they arrive, and
// returns the paged-results control of its result (nil when there is
// none; its cookie is empty after the last page).
//
// go-ldap's per-request timeout is off on such a connection: while it is
// set, go-ldap drops a response it cannot deliver within that time, so a
// slow fn would silently lose entries. Instead a watchdog runs only while
// we wait for the server, and cancelling the request is an error, never a
// short page.
func (r *Reader) page(ctx context.Context, conn *goldap.Conn, req *goldap.SearchRequest, h searchHandlers) (*goldap.ControlPaging, error) {
	pageCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var timedOut atomic.Bool
	watchdog := time.AfterFunc(r.cfg.Timeout, func() {
		timedOut.Store(true)
		cancel()
	})
	defer watchdog.Stop()

	resp := conn.SearchAsync(pageCtx, req, responseBuffer)
	var paging *goldap.ControlPaging
	for {
		watchdog.Reset(r.cfg.Timeout)
		more := resp.Next()
		watchdog.Stop()
		if !more {
			break
		}
		switch {
		case resp.Entry() != nil:
			if err := h.entry(resp.Entry()); err != nil {
				return nil, err
			}
		case resp.Referral() != "":
			if err := h.referral(resp.Referral()); err != nil {
				return nil, err
			}
		default:
			if c, ok := goldap.FindControl(resp.Controls(), goldap.ControlTypePaging).(*goldap.ControlPaging); ok {
				paging = c
			}
			if h.done != nil {
				h.done(resp.Controls())
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
	return paging, nil
}

// tappedPage is page for a search whose entries the tap takes: they come
// in batches through the sink while go-ldap delivers the rest (referrals,
// then the result that ends the page), which a goroutine collects. The
// tap sends every entry before it lets go-ldap read the result, so once
// the result is in, the entries left are those in the sink's buffer.
func (r *Reader) tappedPage(ctx context.Context, conn *connection, req *goldap.SearchRequest, h searchHandlers) (*goldap.ControlPaging, error) {
	pageCtx, cancel := context.WithCancel(ctx)
	// The watchdog counts only the time the tap waits for the server:
	// entries held in a batch, and a slow fn, do not count. It bounds each
	// wait on the socket, so a server that sends a byte now and then
	// keeps a page alive; TCP keepalive and the server's own limits end
	// a dead one. Entries still in the tap's batch when the watchdog or a
	// cancel ends the page are not delivered (the read fails anyway).
	// answered: the page's result is in, and the tap's waiting is for
	// whatever comes next; over: the page is done.
	var timedOut, answered, over atomic.Bool
	start := time.Now()
	var watchdog *time.Timer
	// Armed below, once watchdog is set: the function re-arms it.
	watchdog = time.AfterFunc(time.Hour, func() {
		if over.Load() || answered.Load() {
			return
		}
		waited := conn.tap.waitingFor(start)
		if waited >= r.cfg.Timeout {
			timedOut.Store(true)
			cancel()
			return
		}
		watchdog.Reset(r.cfg.Timeout - waited)
	})
	watchdog.Reset(r.cfg.Timeout)
	sink := conn.tap.attach()
	resp := conn.SearchAsync(pageCtx, req, responseBuffer)
	var refs []string
	var controls []goldap.Control
	var strays int // entries the tap let through: none, or a bug
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		defer answered.Store(true)
		for resp.Next() {
			switch {
			case resp.Entry() != nil:
				strays++
			case resp.Referral() != "":
				refs = append(refs, resp.Referral())
			default:
				controls = resp.Controls()
			}
		}
	}()
	defer func() {
		over.Store(true)
		watchdog.Stop()
		close(sink.stop)
		cancel()
		<-finished
		conn.tap.detach(sink)
	}()

	take := func(b tapBatch) error {
		if b.err != nil {
			return b.err
		}
		for _, e := range b.entries {
			if err := h.record(e); err != nil {
				return err
			}
		}
		return nil
	}
wait:
	for {
		select {
		case b := <-sink.batches:
			if err := take(b); err != nil {
				return nil, err
			}
		case <-finished:
			break wait
		}
	}
	// After a timeout or a cancel, fn gets no more entries.
	if timedOut.Load() {
		return nil, fmt.Errorf("no answer from the server for %s", r.cfg.Timeout)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	for drained := false; !drained; {
		select {
		case b := <-sink.batches:
			if err := take(b); err != nil {
				return nil, err
			}
		default:
			drained = true
		}
	}
	if err := resp.Err(); err != nil {
		return nil, err
	}
	if strays > 0 {
		// Never a short read: the read fails and nothing is removed.
		return nil, fmt.Errorf("internal error: %d entries of the page escaped the entry tap", strays)
	}
	for _, ref := range refs {
		if err := h.referral(ref); err != nil {
			return nil, err
		}
	}
	paging, _ := goldap.FindControl(controls, goldap.ControlTypePaging).(*goldap.ControlPaging)
	if h.done != nil {
		h.done(controls)
	}
	return paging, nil
}

// wholePage is page for a connection without the tap (Decoder go-ldap):
// go-ldap's Search reads and decodes the whole answer to req, one page,
// under go-ldap's request timeout (set in ldapconn.Directory.Dial), before h sees any
// of it. Time spent in fn therefore never counts against Timeout; memory
// holds one page (the whole result with NoPaging). The entries of a page
// that fails are passed on before its error, as they would have been had
// they streamed: a read that fails says how far it got.
//
// go-ldap hands each response to Search through a channel, and drops one
// that nobody takes within the request timeout: Search takes them as fast
// as it decodes them, but a stall of the whole process (a paused virtual
// machine) could still make go-ldap drop an entry and deliver the rest of
// the page. A drop happens only once the request is older than the
// timeout, so a page that took that long is an error, never trusted, even
// when its result came.
func (r *Reader) wholePage(ctx context.Context, conn *goldap.Conn, req *goldap.SearchRequest, h searchHandlers) (*goldap.ControlPaging, error) {
	start := time.Now()
	res, err := conn.Search(req)
	switch {
	case ctx.Err() != nil:
		// The read's context closed the connection (see openSession), or
		// ended as the page came: fn gets no more entries.
		if err == nil {
			err = ctx.Err()
		}
		return nil, err
	case time.Since(start) >= r.cfg.Timeout:
		if err == nil {
			err = errors.New("its result came too late to trust the page")
		}
		return nil, fmt.Errorf("no complete answer from the server within %s (%v)", r.cfg.Timeout, err)
	}
	if res != nil {
		for _, e := range res.Entries {
			var herr error
			if h.record != nil {
				herr = h.record(tappedFrom(e))
			} else {
				herr = h.entry(e)
			}
			if herr != nil {
				return nil, herr
			}
			if ctxErr := ctx.Err(); ctxErr != nil {
				return nil, ctxErr
			}
		}
	}
	if err != nil {
		return nil, err
	}
	for _, ref := range res.Referrals {
		if err := h.referral(ref); err != nil {
			return nil, err
		}
	}
	if h.done != nil {
		h.done(res.Controls)
	}
	paging, _ := goldap.FindControl(res.Controls, goldap.ControlTypePaging).(*goldap.ControlPaging)
	return paging, nil
}

// explainSearch adds what a result code means for guestsync. base is the
// search base, entries how many entries the read has delivered.
func (r *Reader) explainSearch(ctx context.Context, err error, base string, entries int) error {
	var lerr *goldap.Error
	switch {
	case ctx.Err() != nil:
		return errCtx(ctx, err)
	case !errors.As(err, &lerr):
		return err
	case lerr.ResultCode == goldap.LDAPResultSizeLimitExceeded && r.cfg.NoPaging:
		return fmt.Errorf("the server's size limit stopped the search after %d entries; turn paging on: %w", entries, err)
	case lerr.ResultCode == goldap.LDAPResultSizeLimitExceeded:
		return fmt.Errorf("the server's size limit stopped the search after %d entries (does it ignore the paged-results control?): %w", entries, err)
	case lerr.ResultCode == goldap.LDAPResultNoSuchObject:
		return fmt.Errorf("base DN %q does not exist: %w", base, err)
	case lerr.ResultCode == goldap.LDAPResultReferral:
		// The whole base is held elsewhere: nothing was read here, and
		// treating that as a complete, empty directory would remove every
		// guest.
		return fmt.Errorf("the server referred the whole search elsewhere: point url at a server that holds %q: %w", base, err)
	}
	return r.explainRead(ctx, err)
}

// explainRead explains the limits that can end any search, including the
// reads of group expansion and ranged retrieval.
func (r *Reader) explainRead(ctx context.Context, err error) error {
	var lerr *goldap.Error
	switch {
	case ctx.Err() != nil:
		return errCtx(ctx, err)
	case !errors.As(err, &lerr):
		return err
	case lerr.ResultCode == goldap.LDAPResultSizeLimitExceeded:
		return fmt.Errorf("the server's size limit stopped the search (does it ignore the paged-results control?): %w", err)
	case lerr.ResultCode == goldap.LDAPResultTimeLimitExceeded:
		return fmt.Errorf("the server's time limit stopped the search: %w", err)
	case lerr.ResultCode == goldap.LDAPResultAdminLimitExceeded:
		return fmt.Errorf("an administrative limit of the server stopped the search: %w", err)
	}
	return err
}

// reportUndecodable warns, once per entry, about text attributes whose
// values are not valid UTF-8: the entry is still passed on with the exact
// bytes, and a mapping that uses such a value fails for that entry alone.
func (r *Reader) reportUndecodable(e source.Entry) {
	var bad []string
	for name, values := range e.Attributes {
		for _, v := range values {
			// Validity first: it is cheaper than looking the name up.
			if !utf8.ValidString(v) && !ad.IsBinary(name) {
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

// toEntry converts an entry; ByteValues are the exact bytes (binary values
// such as objectGUID included). In a search response go-ldap's Values are
// the same bytes as strings, so they are taken without a copy; an entry
// whose Values do not match ByteValues is converted from ByteValues.
func toEntry(e *goldap.Entry) source.Entry {
	out := source.Entry{DN: e.DN, Attributes: make(map[string][]string, len(e.Attributes))}
	for _, a := range e.Attributes {
		vals := a.Values
		if !sameLengths(vals, a.ByteValues) {
			vals = make([]string, len(a.ByteValues))
			for i, b := range a.ByteValues {
				vals[i] = string(b)
			}
		}
		if prev, ok := out.Attributes[a.Name]; ok {
			vals = append(prev[:len(prev):len(prev)], vals...)
		}
		out.Attributes[a.Name] = vals
	}
	return out
}

// tappedFrom converts an entry that go-ldap decoded, with the notes the
// tap takes while decoding one.
func tappedFrom(ge *goldap.Entry) tappedEntry {
	te := tappedEntry{Entry: toEntry(ge)}
	for name, values := range te.Attributes {
		te.options = te.options || strings.IndexByte(name, ';') >= 0
		for _, v := range values {
			te.notText = te.notText || !utf8.ValidString(v)
		}
	}
	return te
}

// sameLengths reports whether vals and bytes hold as many values, each
// as long as its counterpart.
func sameLengths(vals []string, bytes [][]byte) bool {
	if len(vals) != len(bytes) {
		return false
	}
	for i := range vals {
		if len(vals[i]) != len(bytes[i]) {
			return false
		}
	}
	return true
}

// readWith reads the entry dn, if it matches filter, with attrs on conn.
// It returns nil and no error when the server returns no entry or says
// there is no such object.
func (r *Reader) readWith(ctx context.Context, conn *connection, dn, filter string, attrs []string, controls ...goldap.Control) (*goldap.Entry, error) {
	var found *goldap.Entry
	req := newSearch(dn, goldap.ScopeBaseObject, filter, attrs)
	req.Controls = append(req.Controls, controls...)
	_, err := r.runSearch(ctx, conn, req, false, searchHandlers{
		entry:    func(e *goldap.Entry) error { found = e; return nil },
		referral: func(string) error { return nil },
	})
	if goldap.IsErrorWithCode(err, goldap.LDAPResultNoSuchObject) {
		return nil, nil
	}
	if err != nil {
		return nil, r.explainRead(ctx, err)
	}
	return found, nil
}
