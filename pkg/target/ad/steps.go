package ad

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/guestsync/guestsync/pkg/account"
	"github.com/guestsync/guestsync/pkg/plan"
)

// userAccountControl bits a shadow's writes use (MS-ADTS 2.2.16,
// "userAccountControl Bits").
const (
	uacAccountDisable    = 0x2
	uacNormalAccount     = 0x200
	uacSmartcardRequired = 0x40000
	// uacShadow is what a finished, enabled shadow carries, as MIM's B2B
	// walkthrough sets it (262656): nobody can sign in with its password,
	// and Kerberos delegation works (never NOT_DELEGATED, 0x100000: it
	// would block the connector's KCD).
	uacShadow = uacNormalAccount | uacSmartcardRequired
	// uacAdded is what a shadow is added with: disabled until its
	// password is set (a user without one must not be enabled), and
	// without PASSWD_NOTREQD, which Active Directory's default for an
	// added user has.
	uacAdded = uacNormalAccount | uacAccountDisable
)

// Op is the kind of an LDAP change, as LDIF's changetype names it.
type Op string

const (
	OpAdd    Op = "add"
	OpModify Op = "modify"
	OpModRDN Op = "modrdn"
	OpDelete Op = "delete"
)

// Mod is one attribute of an add, or one modification of a modify: Kind
// is "add", "replace" or "delete" (for a modify).
type Mod struct {
	Kind      string
	Attribute string
	Values    []string
}

// Step is one LDAP change an action needs: what the AD target sends and
// the LDIF target writes. Turning actions into steps happens in one place
// (Layout.Steps), so that a change file shows exactly what the target
// would send.
type Step struct {
	Op Op
	DN string
	// Attributes of an add; modifications of a modify.
	Mods []Mod
	// NewRDN and NewSuperior of a modrdn (the old RDN is always deleted);
	// NewSuperior "" keeps the parent.
	NewRDN      string
	NewSuperior string
	// Password marks the modify that sets unicodePwd to a random password,
	// made when the step is sent: it is in no plan, log or file.
	Password bool
	// Member marks the modify that adds a shadow to a group: a shadow that
	// is a member already is not a failure.
	Member bool
	// Why says what the step is for, for people reading a change file.
	Why string
}

// Layout is what turning actions into LDAP changes needs to know of the
// target: where shadows go, how they are marked, and which groups they
// join.
type Layout struct {
	// OU is where shadows are created, and where a re-enabled shadow
	// returns from DisabledOU.
	OU string
	// DisabledOU is where a disabled shadow is moved; "" disables it in
	// place.
	DisabledOU string
	// MarkAttribute holds the ownership mark and the anchor.
	MarkAttribute string
	// Owner tells this guestsync instance's shadows from another's.
	Owner string
	// Groups are the DNs of the groups every new shadow joins.
	Groups []string
	// Enabled is the plan's boolean property derived from
	// userAccountControl (plan.Target.Enabled).
	Enabled string
}

// Object is what the steps for an existing shadow need of it as it is.
type Object struct {
	DN  string
	UAC uint32
}

// markPrefix starts the mark of every shadow of owner. "User_" makes Entra
// Connect's default synchronization rules skip the object: the inbound
// rule "In from AD - User Join" has the scoping clause adminDescription
// NOTSTARTWITH "User_" (as the Synchronization Rules Editor shows it, and
// as Azure-Samples/B2B-to-AD-Sync's pull request 10 relies on). Microsoft's
// page "Azure AD Connect sync: Understanding the default configuration"
// lists the other out-of-box exclusions but not this one, so it is cited
// here by the rule's name; with another MarkAttribute, keep the shadow OU
// out of Connect's scope instead, as Microsoft's MIM B2B walkthrough says.
func markPrefix(owner string) string { return "User_guestsync:" + owner + ":" }

// Mark is the mark of the shadow of anchor.
func (l Layout) Mark(anchor string) string { return markPrefix(l.Owner) + anchor }

// anchorOf returns the anchor in a mark of this owner.
func (l Layout) anchorOf(mark string) (string, bool) {
	anchor, ok := strings.CutPrefix(mark, markPrefix(l.Owner))
	return anchor, ok && anchor != ""
}

// DN is the DN of a shadow named cn in ou.
func DN(cn, ou string) string { return "CN=" + EscapeRDNValue(cn) + "," + ou }

// EscapeRDNValue escapes an attribute value for a DN as RFC 4514 section
// 2.4 says: `"+,;<>\` always, `=` too (allowed, and Active Directory's
// documentation lists it), a space or `#` at the start, a space at the
// end, and control characters as \XX.
func EscapeRDNValue(v string) string {
	var b strings.Builder
	for i, r := range v {
		switch {
		case strings.ContainsRune(`"+,;<>\=`, r),
			r == '#' && i == 0,
			r == ' ' && (i == 0 || i == len(v)-1):
			b.WriteByte('\\')
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\%02X`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// parentOf returns the DN of dn's parent: what follows the first
// unescaped comma.
func parentOf(dn string) string {
	for i := 0; i < len(dn); i++ {
		switch dn[i] {
		case '\\':
			i++
		case ',':
			return dn[i+1:]
		}
	}
	return ""
}

// sameDN compares two DNs as DNs (RFC 4514): letter case, spaces around
// separators and escaping do not matter. The server writes a DN its way,
// the configuration another.
func sameDN(a, b string) bool {
	da, errA := goldap.ParseDN(a)
	db, errB := goldap.ParseDN(b)
	if errA != nil || errB != nil {
		return strings.EqualFold(strings.TrimSpace(a), strings.TrimSpace(b))
	}
	return da.EqualFold(db)
}

// within reports whether dn is base or under it, as DNs (see sameDN).
// A DN that does not parse is not within anything: New reports it.
func within(dn, base string) bool {
	d, errD := goldap.ParseDN(dn)
	b, errB := goldap.ParseDN(base)
	return errD == nil && errB == nil && (b.EqualFold(d) || b.AncestorOfFold(d))
}

// Steps turns an action into the LDAP changes that carry it out, in order.
// obj is the shadow as it is, for every kind but Create. Adopt and Restore
// have no meaning here: Active Directory's recycle bin is not read, and
// an object without guestsync's mark is never taken over.
func (l Layout) Steps(a plan.Action, obj Object) ([]Step, error) {
	switch a.Kind {
	case plan.Create:
		if a.Account == nil {
			return nil, fmt.Errorf("create %s: the action has no account", a.Anchor)
		}
		return l.create(*a.Account)
	case plan.Update:
		return l.update(a, obj)
	case plan.Disable:
		return l.disable(obj), nil
	case plan.Delete:
		return []Step{{Op: OpDelete, DN: obj.DN, Why: "delete the shadow of " + a.Anchor}}, nil
	}
	return nil, fmt.Errorf("%s: not something the AD target does", a.Kind)
}

// create adds the shadow disabled with its mark, sets its password, adds
// it to the groups, and sets its final userAccountControl last (the order
// that works on Active Directory and Samba alike: a user without a
// password cannot be enabled). Until that last step the shadow is
// half-made (see the package comment), so a shadow with
// SMARTCARD_REQUIRED is always whole, groups included.
func (l Layout) create(acc account.Account) ([]Step, error) {
	cn := acc.Properties["cn"]
	if cn == "" {
		return nil, fmt.Errorf("create %s: no cn, which names the shadow in its OU", acc.Anchor)
	}
	if acc.Anchor == "" {
		return nil, fmt.Errorf("create %s: no anchor", cn)
	}
	dn := DN(cn, l.OU)
	add := Step{Op: OpAdd, DN: dn, Why: "create the shadow of " + acc.Anchor + ", disabled until it has a password"}
	add.Mods = append(add.Mods, Mod{Kind: "add", Attribute: "objectClass", Values: []string{"top", "person", "organizationalPerson", "user"}})
	names := make([]string, 0, len(acc.Properties))
	for n, v := range acc.Properties {
		if v != "" && n != "cn" && n != l.Enabled && !strings.EqualFold(n, l.MarkAttribute) {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	for _, n := range names {
		add.Mods = append(add.Mods, Mod{Kind: "add", Attribute: n, Values: []string{acc.Properties[n]}})
	}
	add.Mods = append(add.Mods,
		Mod{Kind: "add", Attribute: l.MarkAttribute, Values: []string{l.Mark(acc.Anchor)}},
		Mod{Kind: "add", Attribute: "userAccountControl", Values: []string{uacString(uacAdded)}})
	uac := uint32(uacShadow)
	if strings.EqualFold(acc.Properties[l.Enabled], "false") {
		uac |= uacAccountDisable
	}
	steps := []Step{add,
		{Op: OpModify, DN: dn, Password: true, Why: "set a random password (unicodePwd), which nobody is told: the shadow signs in with Kerberos delegation only"}}
	for _, g := range l.Groups {
		steps = append(steps, Step{Op: OpModify, DN: g, Member: true, Mods: []Mod{{Kind: "add", Attribute: "member", Values: []string{dn}}},
			Why: "add the shadow to a configured group"})
	}
	steps = append(steps, Step{Op: OpModify, DN: dn, Mods: []Mod{{Kind: "replace", Attribute: "userAccountControl", Values: []string{uacString(uac)}}},
		Why: "NORMAL_ACCOUNT | SMARTCARD_REQUIRED" + map[bool]string{true: " | ACCOUNTDISABLE", false: ": enabled"}[uac&uacAccountDisable != 0]})
	return steps, nil
}

// update modifies the changed attributes, renames (a changed cn) and
// moves (in or out of DisabledOU) in one modrdn, then enables or
// disables. The move comes before the change of userAccountControl, so
// that a run killed between the two leaves a shadow whose next plan
// repeats the action (see the package comment).
func (l Layout) update(a plan.Action, obj Object) ([]Step, error) {
	var mods []Mod
	newCN, enable := "", ""
	for _, c := range a.Changes {
		switch {
		case c.Property == "cn":
			newCN = c.New
		case c.Property == l.Enabled:
			enable = strings.ToLower(c.New)
		case strings.EqualFold(c.Property, l.MarkAttribute):
			return nil, fmt.Errorf("update %s: %s holds guestsync's mark and is not mapped", obj.DN, c.Property)
		case c.New == "" && c.Old != "":
			mods = append(mods, Mod{Kind: "delete", Attribute: c.Property})
		case c.New != "":
			mods = append(mods, Mod{Kind: "replace", Attribute: c.Property, Values: []string{c.New}})
		}
	}
	if newCN == "" && slices.ContainsFunc(a.Changes, func(c plan.Change) bool { return c.Property == "cn" }) {
		return nil, fmt.Errorf("update %s: cn cannot be emptied: it names the shadow", obj.DN)
	}
	var steps []Step
	dn := obj.DN
	if len(mods) > 0 {
		steps = append(steps, Step{Op: OpModify, DN: dn, Mods: mods, Why: "update the changed attributes"})
	}
	parent := parentOf(dn)
	newParent := ""
	switch {
	case enable == "true" && l.DisabledOU != "" && sameDN(parent, l.DisabledOU):
		newParent = l.OU
	case enable == "false" && l.DisabledOU != "" && !sameDN(parent, l.DisabledOU):
		newParent = l.DisabledOU
	}
	if newCN != "" || newParent != "" {
		rdn := dn[:len(dn)-len(parent)-1]
		why := "move the shadow"
		if newCN != "" {
			rdn, why = "CN="+EscapeRDNValue(newCN), "rename the shadow (the same object: its objectGUID stays)"
		}
		steps = append(steps, Step{Op: OpModRDN, DN: dn, NewRDN: rdn, NewSuperior: newParent, Why: why})
		if newParent == "" {
			newParent = parent
		}
		dn = rdn + "," + newParent
	}
	switch enable {
	case "true":
		steps = append(steps, Step{Op: OpModify, DN: dn, Mods: []Mod{{Kind: "replace", Attribute: "userAccountControl",
			Values: []string{uacString(obj.UAC &^ uacAccountDisable)}}}, Why: "enable the shadow"})
	case "false":
		steps = append(steps, Step{Op: OpModify, DN: dn, Mods: []Mod{{Kind: "replace", Attribute: "userAccountControl",
			Values: []string{uacString(obj.UAC | uacAccountDisable)}}}, Why: "disable the shadow"})
	}
	return steps, nil
}

// disable moves the shadow to DisabledOU (unless it is there, or there is
// none), then sets ACCOUNTDISABLE.
func (l Layout) disable(obj Object) []Step {
	dn := obj.DN
	var steps []Step
	if parent := parentOf(dn); l.DisabledOU != "" && !sameDN(parent, l.DisabledOU) {
		rdn := dn[:len(dn)-len(parent)-1]
		steps = append(steps, Step{Op: OpModRDN, DN: dn, NewRDN: rdn, NewSuperior: l.DisabledOU, Why: "move the shadow to the disabled OU"})
		dn = rdn + "," + l.DisabledOU
	}
	return append(steps, Step{Op: OpModify, DN: dn, Mods: []Mod{{Kind: "replace", Attribute: "userAccountControl",
		Values: []string{uacString(obj.UAC | uacAccountDisable)}}}, Why: "disable the shadow"})
}

func uacString(u uint32) string { return strconv.FormatUint(uint64(u), 10) }
