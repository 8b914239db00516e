package ad

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/guestsync/guestsync/pkg/account"
)

// Check is what the engine asks of the target before a plan, so that a
// run that could not write stops before it writes anything, with what to
// fix. It returns every problem at once:
//   - the connection is not encrypted (Apply would refuse every write);
//   - the OU, the disabled OU or a configured group does not exist (or the
//     bind account cannot see it);
//   - the bind account cannot create users in the OU or the disabled OU
//     (a disable moves the shadow there), or cannot change a group's
//     members.
//
// The rights are read as the server computes them for the bind account:
// allowedChildClassesEffective (the classes it may create under an
// object) and allowedAttributesEffective (the attributes it may write on
// it), constructed attributes of Active Directory (MS-ADTS 3.1.1.4.5,
// "Constructed Attributes"; 3.1.1.4.5.5 for allowedChildClassesEffective)
// that Samba computes too, per bind account (TestSambaCheckRights).
//
// Its warnings name the guests' UPN suffixes that the forest does not
// list (see Forest.SuffixWarnings); it reads nothing for them when no
// shadow has a userPrincipalName.
func (t *Target) Check(ctx context.Context, desired []account.Account) ([]string, error) {
	var problems []error
	if !t.dir.Encrypted() {
		problems = append(problems, fmt.Errorf(
			"the connection to %s is not encrypted: every write would be refused, since shadows get a password, which only travels encrypted; use an ldaps:// URL or startTLS: true (allowInsecureBind does not apply to writes)",
			t.plainURLs()))
	}
	conn, err := t.connect(ctx)
	if err != nil {
		problems = append(problems, fmt.Errorf("connect to check the OU and the bind account's rights: %w", err))
		return nil, errors.Join(problems...)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	if err := t.checkOU(ctx, conn, "ou", t.opts.OU, "create shadows"); err != nil {
		problems = append(problems, err)
	}
	if t.opts.DisabledOU != "" {
		if err := t.checkOU(ctx, conn, "disabledOU", t.opts.DisabledOU, "move disabled shadows"); err != nil {
			problems = append(problems, err)
		}
	}
	for _, g := range t.opts.Groups {
		if err := t.checkGroup(ctx, conn, g); err != nil {
			problems = append(problems, err)
		}
	}

	warnings := t.checkSuffixes(ctx, conn, desired)
	return warnings, errors.Join(problems...)
}

// bindAccount names the account the target binds as, for messages.
func (t *Target) bindAccount() string {
	if dn := t.opts.Connection.BindDN; dn != "" {
		return dn
	}
	return "the anonymous bind"
}

// readBase reads attrs of the object at dn; nil when it does not exist
// or the bind account cannot see it (Active Directory answers the same
// for both).
func (t *Target) readBase(ctx context.Context, conn *goldap.Conn, dn string, attrs ...string) (*goldap.Entry, error) {
	req := goldap.NewSearchRequest(dn, goldap.ScopeBaseObject, goldap.NeverDerefAliases, 1, 0, false,
		"(objectClass=*)", attrs, nil)
	res, err := conn.Search(req)
	switch {
	case goldap.IsErrorWithCode(err, goldap.LDAPResultNoSuchObject):
		return nil, nil
	case err != nil:
		return nil, fmt.Errorf("read %s: %w", dn, errCtx(ctx, err))
	case len(res.Entries) == 0:
		return nil, nil
	}
	return res.Entries[0], nil
}

// checkOU checks that the OU at dn (the setting name) exists and that
// the bind account may create users in it, which it needs to what.
func (t *Target) checkOU(ctx context.Context, conn *goldap.Conn, name, dn, what string) error {
	e, err := t.readBase(ctx, conn, dn, "allowedChildClassesEffective")
	switch {
	case err != nil:
		return fmt.Errorf("%s: %w", name, err)
	case e == nil:
		return fmt.Errorf("%s (ad.%s) does not exist (or %s cannot see it): create it (New-ADOrganizationalUnit, or Active Directory Users and Computers) or correct ad.%s",
			dn, name, t.bindAccount(), name)
	case !hasFold(e.GetAttributeValues("allowedChildClassesEffective"), "user"):
		return fmt.Errorf("%s cannot create users in %s (ad.%s) (user is not in the allowedChildClassesEffective the server computes for it there), which it needs to %s: delegate it the task \"Create, delete, and manage user accounts\" on that OU (Active Directory Users and Computers, Delegate Control), or bind as an account that has it",
			t.bindAccount(), dn, name, what)
	}
	return nil
}

// checkGroup checks that the group at dn exists and that the bind account
// may change its members, which every create does.
func (t *Target) checkGroup(ctx context.Context, conn *goldap.Conn, dn string) error {
	e, err := t.readBase(ctx, conn, dn, "objectClass", "allowedAttributesEffective")
	switch {
	case err != nil:
		return fmt.Errorf("groups: %w", err)
	case e == nil:
		return fmt.Errorf("group %s (ad.groups) does not exist (or %s cannot see it): create it or correct ad.groups", dn, t.bindAccount())
	case !hasFold(e.GetAttributeValues("objectClass"), "group"):
		return fmt.Errorf("%s (ad.groups) is not a group (objectClass %s): ad.groups lists the DNs of groups every shadow joins",
			dn, strings.Join(e.GetAttributeValues("objectClass"), ", "))
	case !hasFold(e.GetAttributeValues("allowedAttributesEffective"), "member"):
		return fmt.Errorf("%s cannot change the members of group %s (member is not in the allowedAttributesEffective the server computes for it there), which every create does: grant it \"Write Members\" on the group (dsacls \"%s\" /G \"<domain>\\<account>:WP;member\"), or remove the group from ad.groups",
			t.bindAccount(), dn, dn)
	}
	return nil
}

func hasFold(values []string, want string) bool {
	return slices.ContainsFunc(values, func(v string) bool { return strings.EqualFold(v, want) })
}

// Forest is what the forest lists as its own names: the UPN suffixes a
// user's userPrincipalName may end with besides its domains' DNS names.
type Forest struct {
	// Root is the DNS name of the forest root domain, which
	// Set-ADForest takes as the forest's identity.
	Root string
	// Domains are the DNS names of the forest's domains.
	Domains []string
	// UPNSuffixes are the alternative UPN suffixes (uPNSuffixes on
	// CN=Partitions in the configuration partition).
	UPNSuffixes []string
}

// flagCRNTDSDomain (FLAG_CR_NTDS_DOMAIN in MS-ADTS) marks the crossRef
// of a domain in its systemFlags, as opposed to those of the schema, the
// configuration and application partitions.
const flagCRNTDSDomain = 0x2

// readForest reads the forest's domains and UPN suffixes from the
// Partitions container of the configuration partition: its uPNSuffixes,
// and the dnsRoot of each domain's crossRef.
func (t *Target) readForest(ctx context.Context, conn *goldap.Conn) (Forest, error) {
	root, err := t.readBase(ctx, conn, "", "configurationNamingContext", "rootDomainNamingContext")
	if err != nil || root == nil {
		return Forest{}, fmt.Errorf("read the root DSE: %v", cmp.Or(err, errors.New("no entry")))
	}
	config := root.GetAttributeValue("configurationNamingContext")
	if config == "" {
		return Forest{}, errors.New("the root DSE names no configurationNamingContext")
	}
	partitions := "CN=Partitions," + config
	req := goldap.NewSearchRequest(partitions, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases, 0, 0, false,
		"(|(objectClass=crossRefContainer)(objectClass=crossRef))", []string{"objectClass", "uPNSuffixes", "dnsRoot", "nCName", "systemFlags"}, nil)
	res, err := conn.Search(req)
	if err != nil {
		return Forest{}, fmt.Errorf("read %s: %w", partitions, errCtx(ctx, err))
	}
	var f Forest
	for _, e := range res.Entries {
		if hasFold(e.GetAttributeValues("objectClass"), "crossRefContainer") {
			f.UPNSuffixes = append(f.UPNSuffixes, e.GetAttributeValues("uPNSuffixes")...)
			continue
		}
		flags, _ := strconv.ParseInt(e.GetAttributeValue("systemFlags"), 10, 64)
		dns := e.GetAttributeValue("dnsRoot")
		if flags&flagCRNTDSDomain == 0 || dns == "" {
			continue
		}
		f.Domains = append(f.Domains, dns)
		if sameDN(e.GetAttributeValue("nCName"), root.GetAttributeValue("rootDomainNamingContext")) {
			f.Root = dns
		}
	}
	if len(f.Domains) == 0 {
		return Forest{}, fmt.Errorf("%s lists no domain (is it readable by %s?)", partitions, t.bindAccount())
	}
	return f, nil
}

// checkSuffixes warns of the guests' UPN suffixes that the forest does
// not list; a forest it cannot read is a warning too, since LDAP accepts
// any suffix.
func (t *Target) checkSuffixes(ctx context.Context, conn *goldap.Conn, desired []account.Account) []string {
	if len(UPNSuffixes(desired)) == 0 {
		return nil
	}
	forest, err := t.readForest(ctx, conn)
	if err != nil {
		return []string{fmt.Sprintf("the guests' UPN suffixes were not checked against the forest's: %v", err)}
	}
	return forest.SuffixWarnings(desired)
}

// SuffixCount is a UPN suffix and how many desired shadows use it.
type SuffixCount struct {
	Suffix string
	Count  int
}

// UPNSuffixes counts the UPN suffixes (what follows the last @ of
// userPrincipalName) of the desired shadows, most used first. A suffix is
// counted in the letter case of its first use: DNS names, and so UPN
// suffixes, are compared without case.
func UPNSuffixes(desired []account.Account) []SuffixCount {
	index := map[string]int{}
	var out []SuffixCount
	for _, a := range desired {
		upn := a.Properties["userPrincipalName"]
		at := strings.LastIndexByte(upn, '@')
		if a.Deleted || at < 0 || at == len(upn)-1 {
			continue
		}
		suffix := upn[at+1:]
		key := strings.ToLower(suffix)
		if i, ok := index[key]; ok {
			out[i].Count++
			continue
		}
		index[key] = len(out)
		out = append(out, SuffixCount{Suffix: suffix, Count: 1})
	}
	slices.SortStableFunc(out, func(a, b SuffixCount) int {
		return cmp.Or(b.Count-a.Count, strings.Compare(strings.ToLower(a.Suffix), strings.ToLower(b.Suffix)))
	})
	return out
}

// Lists reports whether suffix is one of the forest's UPN suffixes or
// domains.
func (f Forest) Lists(suffix string) bool {
	eq := func(v string) bool { return strings.EqualFold(v, suffix) }
	return slices.ContainsFunc(f.Domains, eq) || slices.ContainsFunc(f.UPNSuffixes, eq)
}

// SuffixWarnings are one warning for each UPN suffix of the desired
// shadows that the forest does not list, with how many shadows use it and
// how to add it. Active Directory accepts such a userPrincipalName over
// LDAP (it does not check the suffix), so this does not stop a run; but
// Microsoft's hybrid identity lab adds the tenant's onmicrosoft.com domain
// to the forest's UPN suffixes before it creates shadows, and the
// forest's own tools (Active Directory Users and Computers) offer only the
// suffixes it lists.
func (f Forest) SuffixWarnings(desired []account.Account) []string {
	listed := append(append([]string(nil), f.Domains...), f.UPNSuffixes...)
	forest := cmp.Or(f.Root, "<forest root domain>")
	var out []string
	for _, s := range UPNSuffixes(desired) {
		if f.Lists(s.Suffix) {
			continue
		}
		guests := "guests use it"
		if s.Count == 1 {
			guests = "guest uses it"
		}
		out = append(out, fmt.Sprintf(
			"UPN suffix %s is not one of the forest's (%s), and %d %s: LDAP accepts the shadows anyway, but add the suffix to the forest as Microsoft's hybrid identity lab does before it creates shadows: Active Directory Domains and Trusts, Properties, UPN Suffixes; or Set-ADForest -Identity %s -UPNSuffixes @{Add=\"%s\"}",
			s.Suffix, strings.Join(listed, ", "), s.Count, guests, forest, s.Suffix))
	}
	return out
}
