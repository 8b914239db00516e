// Package ldap reads entries from a live directory, Active Directory or any
// LDAP server, with a paged search streamed entry by entry so that memory
// stays flat however large the directory is.
//
// It is secure by default: a password is only sent over ldaps:// or after
// StartTLS unless the configuration explicitly allows otherwise, and it is
// never logged. A read that cannot vouch for having seen every entry in
// scope (a dropped connection, a size or time limit, a referral of the
// whole search) returns an error with Result.Complete false.
package ldap

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/guestsync/guestsync/pkg/source"
)

// Reader reads the entries a Config selects. It holds no connection
// between reads: each Read connects, binds, searches and disconnects.
type Reader struct {
	cfg  Config
	urls []*url.URL
	tls  *tls.Config
	log  *slog.Logger
}

var _ source.Reader = (*Reader)(nil)

// New checks cfg and returns a Reader for it. All problems found in cfg are
// returned at once, joined. A nil log discards messages.
func New(cfg Config, log *slog.Logger) (*Reader, error) {
	cfg = cfg.withDefaults()
	urls, tlsConfig, err := cfg.validate()
	if err != nil {
		return nil, fmt.Errorf("ldap config: %w", err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Reader{cfg: cfg, urls: urls, tls: tlsConfig, log: log}, nil
}

// Read connects to the first URL that answers, binds, and streams every
// entry of a paged search to fn as each page arrives.
func (r *Reader) Read(ctx context.Context, fn func(source.Entry) error) (source.Result, error) {
	if r.cfg.BindPassword != "" {
		for _, u := range r.urls {
			if !r.cfg.usesTLS(u) {
				r.log.Warn("the bind password is sent unencrypted: allowInsecureBind is set; use ldaps:// or startTLS outside tests",
					"url", u.String(), "bindDN", r.cfg.BindDN)
			}
		}
	}
	r.log.Debug("ldap search", "command", r.Command())

	conn, u, err := r.connect(ctx)
	if err != nil {
		return source.Result{}, err
	}
	defer conn.Close()
	// Closing the connection is what interrupts a bind or a read in
	// progress when ctx is done.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	return r.search(ctx, conn, u, fn)
}

// connect tries each URL in turn and returns a bound connection.
func (r *Reader) connect(ctx context.Context) (*goldap.Conn, *url.URL, error) {
	var errs []error
	for _, u := range r.urls {
		if err := ctx.Err(); err != nil {
			return nil, nil, fmt.Errorf("connect to %s: %w", u, err)
		}
		conn, err := r.dial(ctx, u)
		if err != nil {
			errs = append(errs, err)
			r.log.Debug("ldap connect failed", "url", u.String(), "error", err)
			continue
		}
		return conn, u, nil
	}
	return nil, nil, errors.Join(errs...)
}

// dial connects to u, upgrades to TLS if asked, and binds. Bind failures
// are returned as they are: another URL would be the same directory.
func (r *Reader) dial(ctx context.Context, u *url.URL) (*goldap.Conn, error) {
	timeout := r.cfg.Timeout
	addr := u.Host
	if u.Port() == "" {
		port := goldap.DefaultLdapPort
		if u.Scheme == "ldaps" {
			port = goldap.DefaultLdapsPort
		}
		addr = net.JoinHostPort(u.Hostname(), port)
	}
	dialer := &net.Dialer{Timeout: timeout}
	var c net.Conn
	var err error
	if u.Scheme == "ldaps" {
		c, err = (&tls.Dialer{NetDialer: dialer, Config: r.tlsFor(u)}).DialContext(ctx, "tcp", addr)
	} else {
		c, err = dialer.DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", u, err)
	}

	conn := goldap.NewConn(c, u.Scheme == "ldaps")
	conn.Start()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	// One deadline for StartTLS and bind. go-ldap's own per-request timeout
	// is left off: while it is set, go-ldap silently drops responses that
	// the caller is too slow to take (see search.go).
	if err := c.SetDeadline(time.Now().Add(timeout)); err != nil {
		conn.Close()
		return nil, fmt.Errorf("connect to %s: %w", u, err)
	}

	if r.cfg.StartTLS {
		if err := conn.StartTLS(r.tlsFor(u)); err != nil {
			conn.Close()
			return nil, fmt.Errorf("connect to %s: StartTLS: %w", u, errCtx(ctx, err))
		}
	}
	if r.cfg.BindDN != "" {
		if err := conn.Bind(r.cfg.BindDN, r.cfg.BindPassword); err != nil {
			conn.Close()
			return nil, fmt.Errorf("bind to %s as %q: %w", u, r.cfg.BindDN, explainBind(errCtx(ctx, err)))
		}
	}
	if err := c.SetDeadline(time.Time{}); err != nil {
		conn.Close()
		return nil, fmt.Errorf("connect to %s: %w", u, err)
	}
	return conn, nil
}

// tlsFor returns the TLS settings for u: the server name defaults to the
// URL's host.
func (r *Reader) tlsFor(u *url.URL) *tls.Config {
	c := r.tls.Clone()
	if c.ServerName == "" {
		c.ServerName = u.Hostname()
	}
	return c
}

// errCtx prefers the context's error: when ctx ends, the connection is
// closed under go-ldap's feet and its own error says only that.
func errCtx(ctx context.Context, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("%w (%v)", ctxErr, err)
	}
	return err
}

func explainBind(err error) error {
	switch {
	case goldap.IsErrorWithCode(err, goldap.LDAPResultInvalidCredentials):
		return fmt.Errorf("invalid credentials: check bindDN and bindPassword, and that the account is enabled: %w", err)
	case goldap.IsErrorAnyOf(err, goldap.LDAPResultStrongAuthRequired, goldap.LDAPResultConfidentialityRequired):
		return fmt.Errorf("the server requires an encrypted connection: use ldaps:// or startTLS: %w", err)
	}
	return err
}
