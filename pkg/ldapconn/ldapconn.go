// Package ldapconn is guestsync's one way of connecting to a directory,
// shared by the directory reader (pkg/source/ldap) and the Active
// Directory writer (pkg/target/ad): URLs tried in turn until one answers,
// ldaps:// or StartTLS with a CA file and a server name, simple or NTLM
// binds, and the refusal to send a simple bind's password unencrypted
// unless AllowInsecureBind says so. It never logs the password, and its
// errors never hold it.
package ldapconn

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
)

// Directory is a checked Config: what Dial and Connect need, parsed once.
type Directory struct {
	cfg  Config
	urls []*url.URL
	tls  *tls.Config
}

// URLs are the directory's URLs, in the order they are tried.
func (d *Directory) URLs() []*url.URL { return d.urls }

// Config is the configuration the directory was checked from, with its
// defaults.
func (d *Directory) Config() Config { return d.cfg }

// Encrypted reports whether every URL's connection is encrypted (ldaps://
// or StartTLS) before anything is sent on it but StartTLS itself.
func (d *Directory) Encrypted() bool {
	for _, u := range d.urls {
		if !d.cfg.UsesTLS(u) {
			return false
		}
	}
	return true
}

// Wrap puts something between go-ldap and a connection: the directory
// reader's entry tap, which decodes entries itself. It gets the connection
// after TLS (ldaps:// or StartTLS) and returns what go-ldap reads and
// writes.
type Wrap func(net.Conn) net.Conn

// Connect tries each URL in turn and returns a bound connection to the
// first that answers, with its URL; when none does, every URL's error,
// joined.
func (d *Directory) Connect(ctx context.Context, wrap Wrap) (*goldap.Conn, *url.URL, error) {
	var errs []error
	for _, u := range d.urls {
		if err := ctx.Err(); err != nil {
			return nil, nil, fmt.Errorf("connect to %s: %w", u, err)
		}
		conn, err := d.Dial(ctx, u, wrap)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		return conn, u, nil
	}
	return nil, nil, errors.Join(errs...)
}

// Dial connects to u, upgrades to TLS if asked, and binds. Bind failures
// are returned as they are, explained: another URL would be the same
// directory.
//
// With wrap nil, go-ldap does all of the protocol: it makes StartTLS, and
// its request timeout is Timeout. With wrap, StartTLS is made before
// go-ldap is given the connection (see startTLS), so that what wrap puts
// under go-ldap sees the clear bytes; go-ldap's request timeout stays off,
// as a wrap that streams answers to a caller of any speed needs (while it
// is set, go-ldap silently drops a response the caller is too slow to
// take).
func (d *Directory) Dial(ctx context.Context, u *url.URL, wrap Wrap) (*goldap.Conn, error) {
	timeout := d.cfg.Timeout
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
		c, err = (&tls.Dialer{NetDialer: dialer, Config: d.TLSFor(u)}).DialContext(ctx, "tcp", addr)
	} else {
		c, err = dialer.DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", u, err)
	}

	// One deadline for StartTLS (its handshake too) and bind.
	if err := c.SetDeadline(time.Now().Add(timeout)); err != nil {
		c.Close()
		return nil, fmt.Errorf("connect to %s: %w", u, err)
	}
	conn, err := d.open(ctx, c, u, wrap)
	if err != nil {
		c.Close()
		return nil, fmt.Errorf("connect to %s: StartTLS: %w", u, ErrCtx(ctx, err))
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if err := d.bind(conn); err != nil {
		conn.Close()
		return nil, fmt.Errorf("bind to %s as %q: %w", u, d.cfg.BindDN, d.explainBind(ErrCtx(ctx, err)))
	}
	if err := c.SetDeadline(time.Time{}); err != nil {
		conn.Close()
		return nil, fmt.Errorf("connect to %s: %w", u, err)
	}
	return conn, nil
}

// open puts go-ldap on c (TLS already for ldaps://) and makes StartTLS
// when asked, as Dial says.
func (d *Directory) open(ctx context.Context, c net.Conn, u *url.URL, wrap Wrap) (*goldap.Conn, error) {
	upgrade := d.cfg.StartTLS && u.Scheme == "ldap"
	if wrap == nil {
		conn := goldap.NewConn(c, u.Scheme == "ldaps")
		conn.Start()
		conn.SetTimeout(d.cfg.Timeout)
		if upgrade {
			stop := context.AfterFunc(ctx, func() { conn.Close() })
			err := conn.StartTLS(d.TLSFor(u))
			stop()
			if err != nil {
				conn.Close()
				return nil, err
			}
		}
		return conn, nil
	}
	tlsUp := u.Scheme == "ldaps"
	if upgrade {
		stop := context.AfterFunc(ctx, func() { c.Close() })
		tc, err := startTLS(ctx, c, d.TLSFor(u))
		stop()
		if err != nil {
			return nil, err
		}
		c, tlsUp = tc, true
	}
	conn := goldap.NewConn(wrap(c), tlsUp)
	conn.Start()
	return conn, nil
}

// bind authenticates conn as configured.
//
// An NTLM bind sends a challenge response, never the password, so the
// rule against simple binds over plain LDAP does not apply to it. Without
// TLS it still risks a lot, which the reader warns about: go-ldap does
// not negotiate NTLM signing or sealing, so every result travels in clear
// and can be altered on the way (an attacker who removes entries makes
// guestsync delete guests); the exchange can be relayed to another server
// by someone in the middle; and the NTLMv2 response lets a weak password
// be cracked offline.
func (d *Directory) bind(conn *goldap.Conn) error {
	switch {
	case d.cfg.BindDN == "":
		return nil
	case d.cfg.BindMethod == "ntlm":
		return conn.NTLMBind(d.cfg.NTLMDomain, d.cfg.NTLMUser(), d.cfg.BindPassword)
	}
	return conn.Bind(d.cfg.BindDN, d.cfg.BindPassword)
}

// TLSFor returns the TLS settings for u. The server name is ServerName for
// the configured hosts, else u's host name: a referral may lead to another
// host, whose certificate names it.
func (d *Directory) TLSFor(u *url.URL) *tls.Config {
	c := d.tls.Clone()
	if c.ServerName == "" || !d.ConfiguredHost(u.Hostname()) {
		c.ServerName = u.Hostname()
	}
	return c
}

// ConfiguredHost reports whether host is the host of one of the URLs.
func (d *Directory) ConfiguredHost(host string) bool {
	for _, u := range d.urls {
		if strings.EqualFold(u.Hostname(), host) {
			return true
		}
	}
	return false
}

// ErrCtx prefers the context's error: when ctx ends, the connection is
// closed under go-ldap's feet and its own error says only that.
func ErrCtx(ctx context.Context, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("%w (%v)", ctxErr, err)
	}
	return err
}

func (d *Directory) explainBind(err error) error {
	ntlm := d.cfg.BindMethod == "ntlm"
	var lerr *goldap.Error
	switch {
	case goldap.IsErrorWithCode(err, goldap.LDAPResultInvalidCredentials) && ntlm:
		return fmt.Errorf("invalid credentials: check bindDN, ntlmDomain and bindPassword, and that the account is enabled: %w", err)
	case goldap.IsErrorWithCode(err, goldap.LDAPResultInvalidCredentials):
		return fmt.Errorf("invalid credentials: check bindDN and bindPassword, and that the account is enabled: %w", err)
	case goldap.IsErrorAnyOf(err, goldap.LDAPResultStrongAuthRequired, goldap.LDAPResultConfidentialityRequired):
		return fmt.Errorf("the server requires an encrypted connection: use ldaps:// or startTLS: %w", err)
	case ntlm && (!errors.As(err, &lerr) || goldap.IsErrorAnyOf(err, goldap.LDAPResultProtocolError, goldap.LDAPResultAuthMethodNotSupported, goldap.ErrorNetwork)):
		// go-ldap's NTLM bind is Microsoft's "Sicily" bind, which Active
		// Directory implements; Samba, for one, does not, and drops the
		// connection.
		return fmt.Errorf("the server does not seem to support NTLM binds (Active Directory's Sicily NTLM bind; Samba has none); use a simple bind over ldaps:// or startTLS: %w", err)
	}
	return err
}
