// Package ldap reads entries from a live directory, Active Directory or any
// LDAP server, with a paged search streamed entry by entry so that memory
// stays flat however large the directory is. Only the sets that scoping
// needs grow with it, by a DN each: the entries already delivered when
// several bases or referrals may reach one twice, and the members of the
// groups that guestsync expands itself.
//
// The scope is one or several bases, minus excluded subtrees, optionally
// limited to the members of groups (nested ones included: resolved by
// Active Directory's in-chain rule, or expanded by guestsync elsewhere),
// plus the referrals followed when asked to.
//
// It is secure by default: a password is only sent over ldaps:// or after
// StartTLS unless the configuration explicitly allows otherwise, and it is
// never logged; a referral never leads from TLS to plain LDAP. Connecting
// and binding are pkg/ldapconn's, which the AD target shares. A read that
// cannot vouch for having seen every entry in scope (a dropped connection,
// a search whose result never comes or comes late, a page of a paged
// search that ends without the paged-results control, a size or time
// limit anywhere, including group expansion, a referral of the whole
// search, a referral it may not follow) returns an error with
// Result.Complete false.
//
// With Incremental set, the Reader is a source.ChangeReader: ReadChanges
// reads only what changed since a watermark, with Active Directory's
// DirSync (or its USN when DirSync is refused), or OpenLDAP's entryCSN
// elsewhere (incremental.go, dirsync.go, usn.go, csn.go).
//
// The entries of directory reads are decoded by guestsync's entry tap
// under go-ldap's connection (tap.go), unless Config.Decoder leaves
// everything to go-ldap.
package ldap

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/guestsync/guestsync/pkg/ldapconn"
	"github.com/guestsync/guestsync/pkg/source"
)

// Reader reads the entries a Config selects. It holds no connection
// between reads: each Read connects, binds, searches and disconnects.
type Reader struct {
	cfg Config
	settings
	log *slog.Logger
}

// New checks cfg and returns a Reader for it. All problems found in cfg are
// returned at once, joined. A nil log discards messages.
func New(cfg Config, log *slog.Logger) (*Reader, error) {
	cfg = cfg.withDefaults()
	s, err := cfg.validate()
	if err != nil {
		return nil, fmt.Errorf("ldap config: %w", err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Reader{cfg: cfg, settings: s, log: log}, nil
}

// Read connects to the first URL that answers, binds, and streams every
// entry in scope to fn as each page arrives: the entries of each base in
// turn, then those of the referrals it follows. Unless Incremental is
// off, it first takes a watermark, returned in Result.Watermark for
// ReadChanges (see incremental.go).
func (r *Reader) Read(ctx context.Context, fn func(source.Entry) error) (source.Result, error) {
	r.warnInsecure()
	r.log.Debug("ldap search", "command", r.Command())

	s, err := r.connect(ctx)
	if err != nil {
		return source.Result{}, err
	}
	rs := newReadState(r, fn)
	defer rs.close()
	rs.sessions[s.url.String()] = s

	// The watermark comes first, before groups are expanded and entries
	// read: whatever changes from here on is read again next time.
	mark, err := r.startWatermark(ctx, s)
	if err != nil {
		return source.Result{}, err
	}
	if err := rs.prepare(ctx, s); err != nil {
		return source.Result{}, err
	}
	for _, b := range r.bases {
		if ex, ok := excludedBy(b.parsed, r.excludes); ok {
			r.log.Debug("ldap base excluded: not searched", "base", b.dn, "excludeDN", ex.dn)
			continue
		}
		if err := rs.searchBase(ctx, s, b, 0); err != nil {
			return source.Result{Entries: rs.stats.entries}, err
		}
	}
	if err := rs.followReferrals(ctx); err != nil {
		return source.Result{Entries: rs.stats.entries}, err
	}
	st := rs.stats
	r.log.Debug("ldap read done", "entries", st.entries, "excluded", st.excluded, "notInGroups", st.notInGroups,
		"duplicates", st.duplicates, "referralsSkipped", st.referralsSkipped, "referralsFollowed", st.referralsFollowed)
	res := source.Result{Entries: st.entries, Complete: true}
	if mark != nil {
		res.Watermark = mark.encode()
	}
	return res, nil
}

// warnInsecure warns about every URL that would carry credentials or
// results unprotected.
func (r *Reader) warnInsecure() {
	if r.cfg.BindPassword == "" {
		return
	}
	for _, u := range r.urls {
		if r.cfg.usesTLS(u) {
			continue
		}
		if r.cfg.BindMethod == "ntlm" {
			r.log.Warn("NTLM bind without TLS: the password is not sent, but the results are neither encrypted nor protected against tampering, and the NTLM exchange can be relayed or cracked offline; use ldaps:// or startTLS",
				"url", u.String(), "bindDN", r.cfg.BindDN)
			continue
		}
		r.log.Warn("the bind password is sent unencrypted: allowInsecureBind is set; use ldaps:// or startTLS outside tests",
			"url", u.String(), "bindDN", r.cfg.BindDN)
	}
}

// session is a bound connection to one server, and a second one opened on
// demand for reads made while a search streams on the first (see aside).
type session struct {
	r    *Reader
	url  *url.URL
	conn *connection
	aux  *connection
	// stops undo the context.AfterFunc that close the connections when
	// the read's context ends.
	stops []func() bool
}

// encrypted reports whether the session's connection is TLS.
func (s *session) encrypted() bool { return s.r.cfg.usesTLS(s.url) }

// readEntry reads on the session's main connection: use it only while no
// search streams on that connection.
func (s *session) readEntry(ctx context.Context, dn string, attrs []string) (*goldap.Entry, error) {
	return s.r.readEntry(ctx, s.conn, dn, attrs)
}

// aside reads on the session's second connection, dialled on first use.
// A read made on the main connection while fn holds up a streaming search
// would wait forever: go-ldap delivers a connection's responses in order
// and stops reading once the search's buffer is full.
type aside struct{ s *session }

func (a aside) readEntry(ctx context.Context, dn string, attrs []string) (*goldap.Entry, error) {
	s := a.s
	if s.aux == nil {
		conn, err := s.r.dial(ctx, s.url)
		if err != nil {
			return nil, err
		}
		s.aux = conn
		s.stops = append(s.stops, context.AfterFunc(ctx, func() { conn.Close() }))
	}
	return s.r.readEntry(ctx, s.aux, dn, attrs)
}

func (s *session) close() {
	for _, stop := range s.stops {
		stop()
	}
	s.conn.Close()
	if s.aux != nil {
		s.aux.Close()
	}
}

// openSession dials u and binds. Closing the connection is what
// interrupts a bind or a read in progress when ctx is done.
func (r *Reader) openSession(ctx context.Context, u *url.URL) (*session, error) {
	conn, err := r.dial(ctx, u)
	if err != nil {
		return nil, err
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	return &session{r: r, url: u, conn: conn, stops: []func() bool{stop}}, nil
}

// connect tries each URL in turn and returns a session on the first that
// answers.
func (r *Reader) connect(ctx context.Context) (*session, error) {
	var errs []error
	for _, u := range r.urls {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("connect to %s: %w", u, err)
		}
		s, err := r.openSession(ctx, u)
		if err != nil {
			errs = append(errs, err)
			r.log.Debug("ldap connect failed", "url", u.String(), "error", err)
			continue
		}
		return s, nil
	}
	return nil, errors.Join(errs...)
}

// connection is a bound connection to a directory server. With the
// entry tap under it (Decoder tap), the tap takes the entries of its
// directory reads; without (Decoder go-ldap), go-ldap decodes everything
// and its request timeout bounds every request (see runSearch).
type connection struct {
	*goldap.Conn
	tap *entryTap
}

// dial connects to u, upgrades to TLS if asked, and binds (see
// ldapconn.Directory.Dial). This is where Decoder takes effect, once per
// connection:
//
//   - tap: the tap goes between go-ldap and the connection, TLS included,
//     so StartTLS is made before go-ldap is given the connection.
//     go-ldap's request timeout stays off: while it is set, go-ldap
//     silently drops a response that the caller is too slow to take, and
//     the tap's searches stream to a caller of any speed (see tappedPage
//     and page).
//   - go-ldap: go-ldap makes StartTLS, and its request timeout is
//     Timeout; runSearch then reads each page whole with go-ldap's Search
//     (see wholePage).
func (r *Reader) dial(ctx context.Context, u *url.URL) (*connection, error) {
	var tap *entryTap
	var wrap ldapconn.Wrap
	if r.cfg.Decoder != DecoderGoLDAP {
		wrap = func(c net.Conn) net.Conn {
			tap = newEntryTap(c)
			return tap
		}
	}
	conn, err := r.dir.Dial(ctx, u, wrap)
	if err != nil {
		return nil, err
	}
	return &connection{Conn: conn, tap: tap}, nil
}

// tlsFor returns the TLS settings for u (see ldapconn.Directory.TLSFor).
func (r *Reader) tlsFor(u *url.URL) *tls.Config { return r.dir.TLSFor(u) }

// configuredHost reports whether host is the host of one of the URLs.
func (r *Reader) configuredHost(host string) bool { return r.dir.ConfiguredHost(host) }

// errCtx prefers the context's error (see ldapconn.ErrCtx).
func errCtx(ctx context.Context, err error) error { return ldapconn.ErrCtx(ctx, err) }

// readBuffer is how much of a server's answer one read from the socket may
// take (the tap's buffer). go-ldap reads through a 4 KiB buffer, so that a
// directory read was one system call per few entries; 64 KiB makes it one
// per page's worth of dozens.
const readBuffer = 64 << 10
