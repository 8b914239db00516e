package ldap

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/guestsync/guestsync/pkg/ldapconn"
)

// Defaults applied by New to fields left at their zero value.
const (
	DefaultFilter        = "(objectClass=*)"
	DefaultScope         = "sub"
	DefaultPageSize      = 500
	DefaultTimeout       = 30 * time.Second
	DefaultMaxGroupDepth = 10
	DefaultBindMethod    = "simple"
	DefaultDecoder       = DecoderTap
)

// Values of Config.Decoder.
const (
	// DecoderTap: guestsync's entry tap decodes the entries of directory
	// reads under go-ldap's connection (tap.go), at the speed of
	// ldapsearch; go-ldap does the rest of the protocol.
	DecoderTap = "tap"
	// DecoderGoLDAP: go-ldap does everything, with its own decoding,
	// StartTLS and request timeout; slower, for a directory the tap
	// mishandles.
	DecoderGoLDAP = "go-ldap"
)

// Directory kinds for Config.Directory.
const (
	// DirectoryAD is Active Directory or Samba AD: group scoping uses the
	// server's LDAP_MATCHING_RULE_IN_CHAIN.
	DirectoryAD = "ad"
	// DirectoryLDAP is any other LDAP server: guestsync expands groups
	// itself.
	DirectoryLDAP = "ldap"
)

// requestedAttributes is the attribute list sent with the search. When
// Config.Attributes is empty it is every user attribute ("*") plus the
// operational attributes guestsync uses as anchors, which a server only
// returns when asked by name. Active Directory's objectGUID is a user
// attribute and comes with "*"; AD ignores names it does not know, such as
// entryUUID.
func (cfg Config) requestedAttributes() []string {
	if len(cfg.Attributes) > 0 {
		return cfg.Attributes
	}
	return []string{"*", "entryUUID"}
}

// Config says which directory to read and how.
type Config struct {
	// URL is ldap://host[:port] or ldaps://host[:port]. Several URLs
	// separated by spaces are tried in order until one accepts a
	// connection.
	URL string
	// BindDN and BindPassword are the bind credentials; both empty means
	// an anonymous read. With BindMethod "ntlm", BindDN is the account
	// name (svc-guestsync, EXAMPLE\svc-guestsync or
	// svc-guestsync@example.test), not a DN.
	BindDN       string
	BindPassword string
	// BindMethod is "simple" (the default: an LDAP simple bind) or "ntlm"
	// (Active Directory's NTLM bind, which never sends the password).
	BindMethod string
	// NTLMDomain is the NetBIOS domain of BindDN for an NTLM bind, unless
	// BindDN already says it (DOMAIN\name, name@domain).
	NTLMDomain string
	// BaseDN and Scope are the one-base form of Bases. Use one form or
	// the other.
	BaseDN string
	// Filter is an RFC 4515 filter; DefaultFilter when empty.
	Filter string
	// Scope is "sub" (the default: the base and everything under it) or
	// "one" (the entries directly under the base).
	Scope string
	// Bases are the subtrees to read, each with its own scope. An entry
	// reached from two bases is delivered once.
	Bases []Base
	// ExcludeDNs are subtrees to leave out: an entry at or below any of
	// them is skipped. They are compared as DNs (RFC 4514): letter case,
	// spaces around separators and escaping do not matter.
	ExcludeDNs []string
	// Groups restricts the read to the members of any of these groups,
	// direct or through nested groups. Entries of nested groups that match
	// Filter are members too, as with Active Directory's in-chain rule.
	Groups []string
	// Directory is "ad" (Active Directory, Samba AD), "ldap" (any other
	// server) or empty: detected from the RootDSE when Groups needs it.
	// "ad" on a server whose RootDSE says otherwise is an error (the
	// in-chain rule would match nothing there); "ldap" on AD makes
	// guestsync expand the groups itself.
	Directory string
	// MaxGroupDepth bounds the nesting of groups that guestsync expands
	// itself (Directory "ldap"); DefaultMaxGroupDepth when 0. Deeper
	// nesting fails the read rather than leaving members out.
	MaxGroupDepth int
	// Attributes to request. Empty means every user attribute ("*") plus
	// the operational attributes guestsync uses as anchors (entryUUID).
	Attributes []string
	// PageSize is the page size of the paged-results control (RFC 2696);
	// DefaultPageSize when 0. Active Directory caps it at 1,000.
	PageSize uint32
	// NoPaging sends the search without the paged-results control, for
	// servers that do not support it. A server size limit then ends the
	// read with an error (and Complete false) instead of truncating it.
	NoPaging bool
	// Timeout bounds connecting (TCP, TLS, bind) and every wait for the
	// server's next answer during the search; DefaultTimeout when 0. Time
	// spent in the caller's fn does not count. With Decoder go-ldap it
	// bounds each request's whole answer instead (a bind, a page), as
	// go-ldap's request timeout does.
	Timeout time.Duration
	// StartTLS upgrades an ldap:// connection to TLS before binding.
	StartTLS bool
	// CAFile is a PEM file of the CA certificates to trust instead of the
	// system's.
	CAFile string
	// ServerName is the name expected in the server certificate, when it
	// is not the URL's host name.
	ServerName string
	// InsecureSkipVerify accepts any server certificate. For tests only.
	InsecureSkipVerify bool
	// AllowInsecureBind allows sending BindPassword over a connection that
	// is neither ldaps:// nor StartTLS. Every read then logs a warning.
	AllowInsecureBind bool
	// FollowReferrals follows continuation references (parts of the tree
	// held by another server) with the same credentials and TLS settings.
	// Off, they are skipped, counted and logged at debug level. A
	// referral that may not be followed (another host, a downgrade from
	// TLS to plain LDAP) then fails the read.
	FollowReferrals bool
	// ReferralHosts are the hosts besides those of URL that referrals may
	// lead to: exact host names, or "*.example.com" for any name under
	// example.com.
	ReferralHosts []string
	// Incremental says how Read records a watermark and ReadChanges reads
	// only what changed since (see incremental.go): "auto" (DirSync on
	// Active Directory, falling back to its USN when DirSync is refused;
	// contextCSN, entryCSN or modifyTimestamp elsewhere), one mechanism
	// forced ("dirsync", "usn", "csn"), or "off" (the default: no
	// watermark, every read is full). Not with FollowReferrals.
	Incremental string
	// Decoder is who decodes what the server sends: DecoderTap (the
	// default) or DecoderGoLDAP. With go-ldap each page is read whole
	// before the caller's fn sees its entries, so memory holds a page
	// (the whole result with NoPaging), and Timeout bounds whole answers.
	Decoder string
}

// Base is one subtree to read.
type Base struct {
	DN string
	// Scope is "sub" (the default) or "one".
	Scope string
}

// withDefaults returns cfg with zero values replaced by the defaults.
func (cfg Config) withDefaults() Config {
	if cfg.Filter == "" {
		cfg.Filter = DefaultFilter
	}
	if cfg.Scope == "" && len(cfg.Bases) == 0 {
		cfg.Scope = DefaultScope
	}
	if cfg.PageSize == 0 {
		cfg.PageSize = DefaultPageSize
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MaxGroupDepth == 0 {
		cfg.MaxGroupDepth = DefaultMaxGroupDepth
	}
	if cfg.BindMethod == "" {
		cfg.BindMethod = DefaultBindMethod
	}
	if cfg.Incremental == "" {
		cfg.Incremental = IncrementalOff
	}
	if cfg.Decoder == "" {
		cfg.Decoder = DefaultDecoder
	}
	return cfg
}

// connection is the part of cfg that says how to connect and bind.
func (cfg Config) connection() ldapconn.Config {
	return ldapconn.Config{
		URL:                cfg.URL,
		BindDN:             cfg.BindDN,
		BindPassword:       cfg.BindPassword,
		BindMethod:         cfg.BindMethod,
		NTLMDomain:         cfg.NTLMDomain,
		Timeout:            cfg.Timeout,
		StartTLS:           cfg.StartTLS,
		CAFile:             cfg.CAFile,
		ServerName:         cfg.ServerName,
		InsecureSkipVerify: cfg.InsecureSkipVerify,
		AllowInsecureBind:  cfg.AllowInsecureBind,
	}
}

// usesTLS reports whether the connection to u is encrypted before binding.
func (cfg Config) usesTLS(u *url.URL) bool { return cfg.connection().UsesTLS(u) }

// settings are what validate parses out of a Config, once.
type settings struct {
	dir      *ldapconn.Directory
	urls     []*url.URL
	bases    []base
	excludes []subtree
	groups   []string
}

// validate returns every problem in cfg (already defaulted) at once, and
// the parsed settings when there are none.
func (cfg Config) validate() (settings, error) {
	dir, errs := cfg.connection().Check()
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	bases := cfg.validateBases(bad)
	if _, err := goldap.CompileFilter(cfg.Filter); err != nil {
		bad("filter %q: %v", cfg.Filter, err)
	}
	excludes := cfg.validateExcludes(bases, bad)
	groups := cfg.validateGroups(bad)
	for _, a := range cfg.Attributes {
		if a == "" || strings.ContainsAny(a, " \t,()") {
			bad("attributes: %q is not an attribute name", a)
		}
	}
	if cfg.Decoder != DecoderTap && cfg.Decoder != DecoderGoLDAP {
		bad("decoder must be %s or %s, not %q", DecoderTap, DecoderGoLDAP, cfg.Decoder)
	}
	cfg.validateReferrals(bad)
	cfg.validateIncremental(bad)

	if err := errors.Join(errs...); err != nil {
		return settings{}, err
	}
	return settings{dir: dir, urls: dir.URLs(), bases: bases, excludes: excludes, groups: groups}, nil
}
