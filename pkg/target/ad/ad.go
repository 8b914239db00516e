// Package ad is guestsync's Active Directory target: it keeps a "shadow
// account" (an AD user) for each B2B guest of the tenant, whose
// userPrincipalName is the guest's cloud UPN, so that Microsoft Entra
// application proxy's Kerberos constrained delegation can act as the guest
// on-premises.
//
// Every shadow carries guestsync's mark in one attribute (adminDescription
// unless configured): "User_guestsync:<owner>:<anchor>", the anchor being
// the guest's Graph object id. Objects without the mark are never
// modified: other people's users only count for the plan as taken
// sAMAccountName and userPrincipalName values.
//
// Writes are refused over a connection that is not encrypted (ldaps:// or
// StartTLS), before any request is sent, whatever AllowInsecureBind says:
// a shadow's password is set over it, and Active Directory demands an
// encrypted connection for that while Samba before 4.19 does not.
//
// Before a plan, Check says what would stop the writes (an unencrypted
// connection, a missing OU or group, a bind account without the rights
// to create users or change the groups' members) and warns of the
// guests' UPN suffixes that the forest does not list.
//
// A create is a few requests: add (disabled, marked), set the password,
// add to the configured groups, set userAccountControl to NORMAL_ACCOUNT |
// SMARTCARD_REQUIRED. An interrupt lets an object's requests finish
// once its first one is sent, and starts no new object. A kill -9 can
// stop between two of them. What it leaves, and how the next run repairs
// it:
//   - a shadow added but without its password, its groups or its final
//     userAccountControl: disabled and marked (the mark and the anchor are
//     in the add itself, so an unmarked shadow cannot exist), without
//     SMARTCARD_REQUIRED: half-made. Current does not count it as a
//     shadow; the next run plans its create again, and the create deletes
//     the half-made object first (see halfMade), which also takes it out
//     of its groups.
//   - a disable moved to the disabled OU but not yet disabled, or a
//     re-enable moved back but not yet enabled: the next plan repeats the
//     action (the grace clock in the state was not cleared either), and
//     the move is then skipped.
//   - an update's attributes changed but not its rename: the next plan
//     renames.
package ad

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/guestsync/guestsync/pkg/ldapconn"
	"github.com/guestsync/guestsync/pkg/plan"
)

// Defaults for the Options left at their zero value.
const (
	DefaultMarkAttribute = "adminDescription"
	DefaultPageSize      = 500
	// DefaultConcurrency is 1: Samba serializes its writes, and on it
	// BenchmarkSambaCreate measures four workers slower than one (a
	// create costs about 30 ms, mostly the key derivations of its two
	// password changes). Active Directory may gain from more.
	DefaultConcurrency = 1
)

// EnabledProperty is the boolean property ("true"/"false") the target
// derives from userAccountControl's ACCOUNTDISABLE bit.
const EnabledProperty = "enabled"

// defaultAttributes are the shadow properties a mapping writes (AD
// attribute names), which Current reads back.
var defaultAttributes = []string{"userPrincipalName", "sAMAccountName", "cn", "displayName", "givenName", "sn", "mail", "description"}

// Options configure a Target.
type Options struct {
	// Connection is how to reach and bind to the domain controllers.
	Connection ldapconn.Config
	// BaseDN is where Current looks for shadows and for the values others'
	// objects have taken: the domain, so that sAMAccountName and
	// userPrincipalName clashes are seen wherever they are.
	BaseDN string
	// OU is where shadows are created.
	OU string
	// DisabledOU is where a disabled shadow is moved; "" leaves it where
	// it is.
	DisabledOU string
	// MarkAttribute holds the mark; DefaultMarkAttribute when "".
	MarkAttribute string
	// Owner tells this instance's shadows from another guestsync's.
	Owner string
	// Groups are the DNs of groups every new shadow is added to. Leaving
	// them when a shadow is deleted is Active Directory's own doing.
	Groups []string
	// Attributes are properties the mapping writes besides the usual ones
	// (userPrincipalName, sAMAccountName, cn, displayName, givenName, sn,
	// mail, description), so that Current reads them back.
	Attributes []string
	// Concurrency is how many shadows are written at a time, each on a
	// connection of its own; DefaultConcurrency when 0.
	Concurrency int
	// PageSize is the page size of Current's searches; DefaultPageSize
	// when 0. Active Directory caps it at 1,000.
	PageSize uint32
	// Log receives what the target does; nil discards it. Passwords are
	// never in it.
	Log *slog.Logger
}

// Target writes shadow accounts to Active Directory.
type Target struct {
	dir    *ldapconn.Directory
	opts   Options
	layout Layout
	attrs  []string
	log    *slog.Logger

	mu sync.Mutex
	// halfMade are the DNs of the shadows Current found half-made, by
	// anchor: a create of the anchor deletes its half-made object first.
	halfMade map[string]string
}

// New checks opts and returns a Target. All problems are returned at once.
func New(opts Options) (*Target, error) {
	if opts.MarkAttribute == "" {
		opts.MarkAttribute = DefaultMarkAttribute
	}
	if opts.Concurrency == 0 {
		opts.Concurrency = DefaultConcurrency
	}
	if opts.PageSize == 0 {
		opts.PageSize = DefaultPageSize
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.DiscardHandler)
	}
	dir, errs := opts.Connection.Check()
	bad := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	checkDN := func(name, dn string, required bool) {
		if dn == "" {
			if required {
				bad("%s is required", name)
			}
			return
		}
		if _, err := goldap.ParseDN(dn); err != nil {
			bad("%s %q: %v", name, dn, err)
		}
	}
	if opts.Concurrency < 0 {
		bad("concurrency must be positive, not %d", opts.Concurrency)
	}
	checkDN("baseDN", opts.BaseDN, true)
	checkDN("ou", opts.OU, true)
	checkDN("disabledOU", opts.DisabledOU, false)
	for i, g := range opts.Groups {
		checkDN(fmt.Sprintf("groups[%d]", i), g, true)
	}
	if opts.Owner == "" || strings.ContainsAny(opts.Owner, " \t\n:*()\\") {
		bad("owner %q: a non-empty word without spaces, colons, * ( ) or \\, such as prod or contoso-shadows", opts.Owner)
	}
	if strings.ContainsAny(opts.MarkAttribute, " \t,()=*") {
		bad("markAttribute %q is not an attribute name", opts.MarkAttribute)
	}
	// Current looks for shadows under BaseDN only: a shadow outside it
	// would be taken for missing and made again on every run.
	for _, ou := range []struct{ name, dn string }{{"ou", opts.OU}, {"disabledOU", opts.DisabledOU}} {
		if ou.dn != "" && opts.BaseDN != "" && !within(ou.dn, opts.BaseDN) {
			bad("%s %s is not inside baseDN %s, where shadows are looked for", ou.name, ou.dn, opts.BaseDN)
		}
	}
	if opts.DisabledOU != "" && sameDN(opts.DisabledOU, opts.OU) {
		bad("disabledOU is the OU itself: leave it empty to disable shadows in place")
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("ad target: %w", err)
	}
	t := &Target{dir: dir, opts: opts, log: opts.Log, halfMade: map[string]string{},
		layout: Layout{OU: opts.OU, DisabledOU: opts.DisabledOU, MarkAttribute: opts.MarkAttribute,
			Owner: opts.Owner, Groups: opts.Groups, Enabled: EnabledProperty}}
	t.attrs = Properties(opts.Attributes)
	return t, nil
}

// Layout is how the target turns actions into LDAP changes, for the LDIF
// target that writes the same changes to a file.
func (t *Target) Layout() Layout { return t.layout }

// Describe says what the target's accounts are: AD users, anchored by the
// mark attribute (which holds the anchor after the owner), named by their
// userPrincipalName (the guest's cloud UPN). sAMAccountName is unique in
// the domain, userPrincipalName in the forest (MS-ADTS 3.1.1.5.1.3,
// "Uniqueness constraints"); Active Directory compares both without case.
func (t *Target) Describe() plan.Target { return Describe(t.opts.MarkAttribute) }

// Describe is the plan.Target of shadows marked in markAttribute.
func Describe(markAttribute string) plan.Target {
	if markAttribute == "" {
		markAttribute = DefaultMarkAttribute
	}
	return plan.Target{Kind: "ad", Noun: "shadow account", Others: "object", Anchor: markAttribute, Name: "userPrincipalName",
		Create: "create", Unique: []string{"sAMAccountName", "userPrincipalName"}, Enabled: EnabledProperty}
}
