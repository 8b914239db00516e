package ad

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/guestsync/guestsync/pkg/account"
)

// connect binds to the first domain controller that answers. go-ldap does
// all of the protocol here (no entry tap: the target reads little), and
// its request timeout bounds every request.
func (t *Target) connect(ctx context.Context) (*goldap.Conn, error) {
	conn, _, err := t.dir.Connect(ctx, nil)
	return conn, err
}

// Current returns every shadow of this owner, with the properties the
// mapping writes, enabled (from userAccountControl's ACCOUNTDISABLE bit)
// and its objectGUID as ID; and, as unowned accounts with only their
// sAMAccountName and userPrincipalName, every other object of the domain
// that has either, so that the plan names a clash with someone else's
// object and SelectUniqueValue sees the values taken. An unowned
// account's ID is its DN, for the plan's reason: guestsync never acts on
// it. Only the attributes needed are read, page by page: at 100,000 users
// the unowned ones cost their two names each.
//
// A half-made shadow (marked, disabled and without SMARTCARD_REQUIRED: a
// create that stopped after its add or its password) is not returned; it
// is remembered for the create that the next plan makes of its anchor.
//
// The DN of a shadow is not kept: every write reads the object by its
// objectGUID first, to check its mark, and takes its DN from there.
func (t *Target) Current(ctx context.Context) ([]account.Account, error) {
	conn, err := t.connect(ctx)
	if err != nil {
		return nil, fmt.Errorf("ad target: %w", err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	mark := goldap.EscapeFilter(markPrefix(t.opts.Owner))
	ownedFilter := fmt.Sprintf("(%s=%s*)", t.opts.MarkAttribute, mark)
	attrs := append([]string{t.opts.MarkAttribute, "userAccountControl", "objectGUID"}, t.attrs...)
	var out []account.Account
	halfMade := map[string]string{}
	err = t.search(ctx, conn, "(&(objectClass=user)"+ownedFilter+")", attrs, func(e *goldap.Entry) error {
		found, err := t.layout.Find(e.DN, e.GetEqualFoldAttributeValue, t.attrs)
		switch {
		case err != nil:
			return err
		case !found.Account.Owned:
			return nil // a mark of another owner whose name starts like ours
		case found.HalfMade:
			halfMade[found.Account.Anchor] = e.DN
		default:
			out = append(out, found.Account)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	t.mu.Lock()
	t.halfMade = halfMade
	t.mu.Unlock()
	if len(halfMade) > 0 {
		t.log.Warn("half-made shadows found (created, but stopped before their password or userAccountControl was set): their creates make them anew",
			"count", len(halfMade))
	}

	unowned := fmt.Sprintf("(&(|(sAMAccountName=*)(userPrincipalName=*))(!%s))", ownedFilter)
	names := []string{"sAMAccountName", "userPrincipalName"}
	err = t.search(ctx, conn, unowned, names, func(e *goldap.Entry) error {
		// The mark is not read: the filter left out this owner's.
		found, err := t.layout.Find(e.DN, e.GetEqualFoldAttributeValue, nil)
		if err == nil && !found.Ignore {
			out = append(out, found.Account)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	t.log.Debug("ad target read", "shadows", countOwned(out), "others", len(out)-countOwned(out))
	return out, nil
}

func countOwned(accounts []account.Account) int {
	n := 0
	for _, a := range accounts {
		if a.Owned {
			n++
		}
	}
	return n
}

// search runs a paged subtree search of BaseDN and hands each entry to fn
// as its page arrives. Continuation references (the forest's other
// partitions) are not followed: they hold no users of the domain.
func (t *Target) search(ctx context.Context, conn *goldap.Conn, filter string, attrs []string, fn func(*goldap.Entry) error) error {
	t.log.Debug("ad search", "base", t.opts.BaseDN, "scope", "sub", "filter", filter, "attributes", attrs, "pageSize", t.opts.PageSize)
	paging := goldap.NewControlPaging(t.opts.PageSize)
	for {
		req := goldap.NewSearchRequest(t.opts.BaseDN, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases, 0, 0, false,
			filter, attrs, []goldap.Control{paging})
		res, err := conn.Search(req)
		if err != nil {
			return fmt.Errorf("ad target: search %s for %s: %w", t.opts.BaseDN, filter, errCtx(ctx, err))
		}
		for _, e := range res.Entries {
			if err := fn(e); err != nil {
				return fmt.Errorf("ad target: %w", err)
			}
		}
		ctrl, ok := goldap.FindControl(res.Controls, goldap.ControlTypePaging).(*goldap.ControlPaging)
		if !ok {
			return fmt.Errorf("ad target: search %s for %s: a page came without the paged-results control: the read may be incomplete", t.opts.BaseDN, filter)
		}
		if len(ctrl.Cookie) == 0 {
			return nil
		}
		paging.SetCookie(ctrl.Cookie)
	}
}

func errCtx(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%w (%v)", ctx.Err(), err)
	}
	return err
}

// readShadow reads the object whose objectGUID is id and checks that it
// carries this owner's mark (for anchor, when anchor is not ""). Active
// Directory and Samba find an object by "<GUID=...>" as its DN
// (MS-ADTS 3.1.1.3.1.2.4, "Alternative Forms of DNs").
func (t *Target) readShadow(conn *goldap.Conn, id, anchor string) (Object, error) {
	req := goldap.NewSearchRequest("<GUID="+id+">", goldap.ScopeBaseObject, goldap.NeverDerefAliases, 1, 0, false,
		"(objectClass=*)", []string{t.opts.MarkAttribute, "userAccountControl"}, nil)
	res, err := conn.Search(req)
	if err != nil {
		return Object{}, err
	}
	if len(res.Entries) != 1 {
		return Object{}, fmt.Errorf("no object with objectGUID %s", id)
	}
	e := res.Entries[0]
	if err := t.checkMark(e, anchor); err != nil {
		return Object{}, err
	}
	uac, err := strconv.ParseUint(e.GetAttributeValue("userAccountControl"), 10, 32)
	if err != nil {
		return Object{}, fmt.Errorf("%s: userAccountControl %q: %w", e.DN, e.GetAttributeValue("userAccountControl"), err)
	}
	return Object{DN: e.DN, UAC: uint32(uac)}, nil
}

// checkMark refuses an object that does not carry this owner's mark (for
// anchor, unless anchor is "").
func (t *Target) checkMark(e *goldap.Entry, anchor string) error {
	got, ok := t.layout.anchorOf(e.GetAttributeValue(t.opts.MarkAttribute))
	switch {
	case !ok:
		return fmt.Errorf("refusing to write %s: it does not carry guestsync's mark (%s starting %q)", e.DN, t.opts.MarkAttribute, markPrefix(t.opts.Owner))
	case anchor != "" && !strings.EqualFold(got, anchor):
		return fmt.Errorf("refusing to write %s: it is the shadow of %s, not of %s", e.DN, got, anchor)
	}
	return nil
}
