package ad

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/guestsync/guestsync/pkg/account"
	"github.com/guestsync/guestsync/pkg/plan"
)

// lifecycle is a shadow's life in one test OU, step by step, through
// plan.Compute as the engine would call it.
type lifecycle struct {
	t      *testing.T
	env    sambaEnv
	admin  *goldap.Conn
	ou     testOU
	target *Target
}

func newLifecycle(t *testing.T) *lifecycle {
	env := needSamba(t)
	admin := env.admin(t)
	ou := env.makeOU(t, admin)
	target, err := New(Options{Connection: env.connection(), BaseDN: env.baseDN, OU: ou.dn, DisabledOU: ou.disabled,
		Owner: "test-" + ou.suffix, Groups: []string{ou.group}})
	require.NoError(t, err)
	return &lifecycle{t: t, env: env, admin: admin, ou: ou, target: target}
}

// plan reads the target and computes the plan for desired.
func (l *lifecycle) plan(desired []account.Account, absence plan.Absence, policy plan.Policy) (*plan.Plan, []account.Account) {
	l.t.Helper()
	current, err := l.target.Current(context.Background())
	require.NoError(l.t, err)
	if policy.Now.IsZero() {
		policy.Now = time.Now()
	}
	return plan.Compute(l.target.Describe(), desired, current, absence, policy), current
}

// apply applies p's actions and requires that none failed.
func (l *lifecycle) apply(p *plan.Plan) []plan.Result {
	l.t.Helper()
	results := l.target.Apply(context.Background(), p.Actions)
	for _, r := range results {
		require.Nil(l.t, r.Failure, "%s %s: %v", r.Action.Kind, r.Action.Name, r.Failure)
	}
	return results
}

// find returns the DN of the object whose objectGUID is id.
func (l *lifecycle) find(id string) *goldap.Entry {
	l.t.Helper()
	return read(l.t, l.admin, "<GUID="+id+">", "userAccountControl", "pwdLastSet", "adminDescription", "displayName",
		"userPrincipalName", "memberOf", "cn", "description")
}

func ownedOf(current []account.Account) []account.Account {
	var out []account.Account
	for _, c := range current {
		if c.Owned {
			out = append(out, c)
		}
	}
	return out
}

func shadowOf(suffix, anchor string) account.Account {
	return account.Account{Anchor: anchor, Source: anchor, Properties: map[string]string{
		"userPrincipalName": "ann_fabrikam.com#EXT#" + suffix + "@contoso.onmicrosoft.com",
		"sAMAccountName":    "ann-" + suffix,
		"cn":                "Müller, Ann #" + suffix + " <Fabrikam>",
		"displayName":       "Ann Müller (Fabrikam)",
		"givenName":         "Ann",
		"sn":                "Müller",
		"mail":              "ann@fabrikam.example",
		"description":       "Shadow of B2B guest ann@fabrikam.example",
	}}
}

// TestSambaShadowLifecycle creates, re-reads, updates and renames,
// disables and moves, re-enables and moves back, and deletes one shadow.
func TestSambaShadowLifecycle(t *testing.T) {
	l := newLifecycle(t)
	anchor := "0d5b1b9a-" + l.ou.suffix[:4] + "-4c4e-9a52-4a7e5c1f0001"
	desired := []account.Account{shadowOf(l.ou.suffix, anchor)}

	// create
	p, _ := l.plan(desired, plan.Absence{}, plan.Policy{})
	require.Len(t, p.Actions, 1)
	require.Equal(t, plan.Create, p.Actions[0].Kind)
	results := l.apply(p)
	id := results[0].ID
	require.NotEmpty(t, id)
	e := l.find(id)
	assert.Equal(t, "CN=Müller\\, Ann \\#"+l.ou.suffix+" \\<Fabrikam\\>,"+l.ou.dn, e.DN, "cn escaped per RFC 4514")
	assert.EqualValues(t, 0x40200, uacOf(t, e), "NORMAL_ACCOUNT | SMARTCARD_REQUIRED, nothing else")
	assert.NotEqual(t, "0", e.GetAttributeValue("pwdLastSet"), "a password was set")
	assert.Equal(t, "User_guestsync:test-"+l.ou.suffix+":"+anchor, e.GetAttributeValue("adminDescription"))
	assert.Equal(t, []string{l.ou.group}, e.GetAttributeValues("memberOf"))

	// a second plan changes nothing
	p, current := l.plan(desired, plan.Absence{Full: true}, plan.Policy{})
	assert.Empty(t, p.Actions, "no change")
	assert.Equal(t, 1, p.Unchanged)
	owned := ownedOf(current)
	require.Len(t, owned, 1)
	assert.Equal(t, id, owned[0].ID)
	assert.Equal(t, "true", owned[0].Properties["enabled"])
	assert.Equal(t, desired[0].Properties["userPrincipalName"], owned[0].Properties["userPrincipalName"])

	// update and rename: a new displayName, UPN and cn; the same object
	renamed := shadowOf(l.ou.suffix, anchor)
	renamed.Properties["displayName"] = "Ann Schmidt (Fabrikam)"
	renamed.Properties["userPrincipalName"] = "ann.schmidt_fabrikam.com#EXT#" + l.ou.suffix + "@contoso.onmicrosoft.com"
	renamed.Properties["cn"] = "Schmidt, Ann " + l.ou.suffix
	renamed.Properties["description"] = "" // the mapping gives nothing now
	p, _ = l.plan([]account.Account{renamed}, plan.Absence{}, plan.Policy{})
	require.Len(t, p.Actions, 1)
	require.Equal(t, plan.Update, p.Actions[0].Kind)
	l.apply(p)
	e = l.find(id)
	assert.Equal(t, "CN=Schmidt\\, Ann "+l.ou.suffix+","+l.ou.dn, e.DN, "renamed: same objectGUID, new RDN")
	assert.Equal(t, "Ann Schmidt (Fabrikam)", e.GetAttributeValue("displayName"))
	assert.Equal(t, renamed.Properties["userPrincipalName"], e.GetAttributeValue("userPrincipalName"))
	assert.Empty(t, e.GetAttributeValue("description"), "an emptied property is deleted")
	desired = []account.Account{renamed}

	// disable and move: the guest left the scope
	p, _ = l.plan(nil, plan.Absence{Full: true}, plan.Policy{})
	require.Len(t, p.Actions, 1)
	require.Equal(t, plan.Disable, p.Actions[0].Kind)
	l.apply(p)
	e = l.find(id)
	assert.Equal(t, "CN=Schmidt\\, Ann "+l.ou.suffix+","+l.ou.disabled, e.DN, "moved to the disabled OU")
	assert.EqualValues(t, 0x40202, uacOf(t, e), "ACCOUNTDISABLE added")

	// re-enable and move back: the guest is back, its grace clock running
	clocks := map[string]time.Time{anchor: time.Now().Add(-time.Hour)}
	p, _ = l.plan(desired, plan.Absence{}, plan.Policy{Disabled: clocks})
	require.Len(t, p.Actions, 1)
	require.Equal(t, plan.Update, p.Actions[0].Kind)
	l.apply(p)
	e = l.find(id)
	assert.Equal(t, "CN=Schmidt\\, Ann "+l.ou.suffix+","+l.ou.dn, e.DN, "moved back")
	assert.EqualValues(t, 0x40200, uacOf(t, e), "enabled again")

	// delete
	p, _ = l.plan(nil, plan.Absence{Full: true}, plan.Policy{Removal: plan.RemoveDelete})
	require.Len(t, p.Actions, 1)
	require.Equal(t, plan.Delete, p.Actions[0].Kind)
	l.apply(p)
	_, err := l.admin.Search(goldap.NewSearchRequest("<GUID="+id+">", goldap.ScopeBaseObject, goldap.NeverDerefAliases, 1, 0, false,
		"(objectClass=*)", []string{"1.1"}, nil))
	assert.True(t, goldap.IsErrorWithCode(err, goldap.LDAPResultNoSuchObject), "deleted: %v", err)
}

// TestSambaUnownedClash: a user guestsync does not own holds the
// sAMAccountName a shadow would take. The plan skips the shadow with a
// reason naming that user, and a write aimed at it anyway is refused.
func TestSambaUnownedClash(t *testing.T) {
	l := newLifecycle(t)
	other := "CN=someone else," + l.ou.dn
	add := goldap.NewAddRequest(other, nil)
	add.Attribute("objectClass", []string{"top", "person", "organizationalPerson", "user"})
	add.Attribute("sAMAccountName", []string{"ann-" + l.ou.suffix})
	add.Attribute("description", []string{"not guestsync's"})
	require.NoError(t, l.admin.Add(add))

	anchor := "0d5b1b9a-" + l.ou.suffix[:4] + "-4c4e-9a52-4a7e5c1f0002"
	p, _ := l.plan([]account.Account{shadowOf(l.ou.suffix, anchor)}, plan.Absence{Full: true}, plan.Policy{})
	require.Len(t, p.Actions, 1)
	assert.Equal(t, plan.Skip, p.Actions[0].Kind)
	assert.Contains(t, p.Actions[0].Reason, `sAMAccountName "ann-`+l.ou.suffix+`" is used by object `+other)
	assert.Empty(t, l.target.Apply(context.Background(), p.Actions), "a skip sends nothing")

	// A write aimed at the other user (a hand-edited plan) is refused.
	guid, err := l.target.guidOf(l.admin, other)
	require.NoError(t, err)
	results := l.target.Apply(context.Background(), []plan.Action{
		{Kind: plan.Update, ID: guid, Anchor: anchor, Changes: []plan.Change{{Property: "description", New: "mine now"}}},
		{Kind: plan.Delete, ID: guid, Anchor: anchor},
	})
	require.Len(t, results, 2)
	for _, r := range results {
		require.NotNil(t, r.Failure, r.Action.Kind)
		assert.Contains(t, r.Failure.Message, "does not carry guestsync's mark")
	}
	assert.Equal(t, "not guestsync's", read(t, l.admin, other, "description").GetAttributeValue("description"), "left untouched")
}

// TestSambaCreateClashFails: a clash the plan did not see (the value was
// taken after Current) fails the create with the DN and Samba's result.
func TestSambaCreateClashFails(t *testing.T) {
	l := newLifecycle(t)
	anchor := "0d5b1b9a-" + l.ou.suffix[:4] + "-4c4e-9a52-4a7e5c1f0003"
	shadow := shadowOf(l.ou.suffix, anchor)
	p, _ := l.plan([]account.Account{shadow}, plan.Absence{}, plan.Policy{})
	require.Len(t, p.Actions, 1)

	other := "CN=late comer," + l.ou.dn
	add := goldap.NewAddRequest(other, nil)
	add.Attribute("objectClass", []string{"top", "person", "organizationalPerson", "user"})
	add.Attribute("sAMAccountName", []string{"late-" + l.ou.suffix})
	add.Attribute("userPrincipalName", []string{shadow.Properties["userPrincipalName"]})
	require.NoError(t, l.admin.Add(add))

	results := l.target.Apply(context.Background(), p.Actions)
	require.Len(t, results, 1)
	f := results[0].Failure
	require.NotNil(t, f)
	assert.Equal(t, "constraintViolation", f.Code)
	assert.Equal(t, 19, f.Status)
	assert.True(t, strings.HasPrefix(f.Message, "add CN=Müller\\, Ann"), f.Message)
}

// countingProxy forwards TCP connections to addr and counts them, and the
// bytes clients sent.
type countingProxy struct {
	addr  string
	mu    sync.Mutex
	conns int
	sent  int64
}

func startProxy(t *testing.T, to string) *countingProxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	p := &countingProxy{addr: l.Addr().String()}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			p.conns++
			p.mu.Unlock()
			s, err := net.Dial("tcp", to)
			if err != nil {
				c.Close()
				continue
			}
			go func() {
				n, _ := io.Copy(s, c)
				p.mu.Lock()
				p.sent += n
				p.mu.Unlock()
				s.Close()
			}()
			go func() { io.Copy(c, s); c.Close() }() //nolint:errcheck // the test reads the counts only
		}
	}()
	return p
}

func (p *countingProxy) counts() (int, int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.conns, p.sent
}

// TestSambaPlainLDAPWriteRefused: over plain ldap:// (allowInsecureBind
// lets the read bind), Current works, and Apply refuses every write
// without opening a connection: the proxy in front of Samba sees none.
func TestSambaPlainLDAPWriteRefused(t *testing.T) {
	l := newLifecycle(t)
	u, err := url.Parse(l.env.url)
	require.NoError(t, err)
	port := u.Port()
	if port == "" {
		port = "389"
	}
	proxy := startProxy(t, net.JoinHostPort(u.Hostname(), port))
	conn := l.env.connection()
	conn.URL, conn.CAFile, conn.AllowInsecureBind = "ldap://"+proxy.addr, "", true
	target, err := New(Options{Connection: conn, BaseDN: l.env.baseDN, OU: l.ou.dn, Owner: "test-" + l.ou.suffix})
	require.NoError(t, err)

	current, err := target.Current(context.Background())
	require.NoError(t, err)
	require.NotEmpty(t, current, "reads are allowed")
	conns, _ := proxy.counts()
	require.Equal(t, 1, conns)

	anchor := "0d5b1b9a-" + l.ou.suffix[:4] + "-4c4e-9a52-4a7e5c1f0004"
	p := plan.Compute(target.Describe(), []account.Account{shadowOf(l.ou.suffix, anchor)}, current, plan.Absence{}, plan.Policy{})
	require.Len(t, p.Actions, 1)
	results := target.Apply(context.Background(), p.Actions)
	require.Len(t, results, 1)
	require.NotNil(t, results[0].Failure)
	assert.Equal(t, "insecureConnection", results[0].Failure.Code)
	assert.Contains(t, results[0].Failure.Message, "refusing to write to Active Directory over plain LDAP (ldap://"+proxy.addr+")")
	time.Sleep(100 * time.Millisecond) // a connection would have been accepted by now
	conns, _ = proxy.counts()
	assert.Equal(t, 1, conns, "no connection for the write")
	res, err := l.admin.Search(goldap.NewSearchRequest(l.ou.dn, goldap.ScopeSingleLevel, goldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=user)", []string{"1.1"}, nil))
	require.NoError(t, err)
	assert.Empty(t, res.Entries, "nothing created")
}

// TestSambaHalfMadeShadowIsMadeAnew: a create stopped after its add (a
// kill -9) leaves a marked, disabled user without SMARTCARD_REQUIRED;
// the next plan creates the shadow again, and the create replaces the
// half-made object.
func TestSambaHalfMadeShadowIsMadeAnew(t *testing.T) {
	l := newLifecycle(t)
	anchor := "0d5b1b9a-" + l.ou.suffix[:4] + "-4c4e-9a52-4a7e5c1f0005"
	shadow := shadowOf(l.ou.suffix, anchor)
	steps, err := l.target.Layout().Steps(plan.Action{Kind: plan.Create, Anchor: anchor, Account: &shadow}, Object{})
	require.NoError(t, err)
	require.Nil(t, l.target.run(l.admin, steps[:1]), "the add alone, as a killed run leaves it")
	half := read(t, l.admin, steps[0].DN, "userAccountControl")
	assert.EqualValues(t, 0x202, uacOf(t, half), "disabled, without a password")

	p, current := l.plan([]account.Account{shadow}, plan.Absence{Full: true}, plan.Policy{})
	assert.Empty(t, ownedOf(current), "a half-made shadow is not a shadow")
	require.Len(t, p.Actions, 1)
	require.Equal(t, plan.Create, p.Actions[0].Kind)
	results := l.apply(p)
	e := l.find(results[0].ID)
	assert.EqualValues(t, 0x40200, uacOf(t, e))
	assert.NotEqual(t, "0", e.GetAttributeValue("pwdLastSet"))

	// The same with a plan applied by a target that did not read the
	// half-made object (a saved plan): the add's entryAlreadyExists leads
	// to it.
	anchor2 := "0d5b1b9a-" + l.ou.suffix[:4] + "-4c4e-9a52-4a7e5c1f0006"
	shadow2 := shadowOf(l.ou.suffix+"b", anchor2)
	steps, err = l.target.Layout().Steps(plan.Action{Kind: plan.Create, Anchor: anchor2, Account: &shadow2}, Object{})
	require.NoError(t, err)
	require.Nil(t, l.target.run(l.admin, steps[:2]), "the add and the password")
	fresh, err := New(l.target.opts)
	require.NoError(t, err)
	results = fresh.Apply(context.Background(), []plan.Action{{Kind: plan.Create, Anchor: anchor2, Account: &shadow2}})
	require.Len(t, results, 1)
	require.Nil(t, results[0].Failure)
	assert.EqualValues(t, 0x40200, uacOf(t, l.find(results[0].ID)))
}

// cancelOnWrite is a log handler that cancels a context at the target's
// first write: an interrupt that arrives while an object is in hand.
type cancelOnWrite struct {
	slog.Handler
	cancel context.CancelFunc
}

func (h cancelOnWrite) Enabled(context.Context, slog.Level) bool { return true }

func (h cancelOnWrite) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == "ad write" {
		h.cancel()
	}
	return nil
}

// TestSambaInterruptFinishesTheObjectInHand: an interrupt during the first
// shadow's create lets its requests finish (it ends enabled, with its
// password), starts no other, and reports the others not attempted.
func TestSambaInterruptFinishesTheObjectInHand(t *testing.T) {
	l := newLifecycle(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	opts := l.target.opts
	opts.Log = slog.New(cancelOnWrite{Handler: slog.DiscardHandler, cancel: cancel})
	opts.Concurrency = 1 // one object in hand when the interrupt comes
	target, err := New(opts)
	require.NoError(t, err)
	var actions []plan.Action
	for i := range 3 {
		s := shadowOf(l.ou.suffix+strconv.Itoa(i), "0d5b1b9a-"+l.ou.suffix[:4]+"-4c4e-9a52-4a7e5c1f010"+strconv.Itoa(i))
		actions = append(actions, plan.Action{Kind: plan.Create, Anchor: s.Anchor, Account: &s})
	}
	results := target.Apply(ctx, actions)
	require.Len(t, results, 3)
	require.Nil(t, results[0].Failure, "the object in hand is finished")
	assert.EqualValues(t, 0x40200, uacOf(t, l.find(results[0].ID)))
	assert.Equal(t, []string{l.ou.group}, l.find(results[0].ID).GetAttributeValues("memberOf"))
	for _, r := range results[1:] {
		require.NotNil(t, r.Failure)
		assert.Contains(t, r.Failure.Message, "not attempted: the run was interrupted")
	}
	res, err := l.admin.Search(goldap.NewSearchRequest(l.ou.dn, goldap.ScopeSingleLevel, goldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=user)", []string{"1.1"}, nil))
	require.NoError(t, err)
	assert.Len(t, res.Entries, 1, "no other shadow started")
}

// TestSambaStartTLSWrites: ldap:// with StartTLS is an encrypted
// connection, and writes go through.
func TestSambaStartTLSWrites(t *testing.T) {
	l := newLifecycle(t)
	conn := l.env.connection()
	conn.URL, conn.StartTLS = l.env.url, true
	target, err := New(Options{Connection: conn, BaseDN: l.env.baseDN, OU: l.ou.dn, Owner: "test-" + l.ou.suffix})
	require.NoError(t, err)
	l.target = target
	anchor := "0d5b1b9a-" + l.ou.suffix[:4] + "-4c4e-9a52-4a7e5c1f0007"
	p, _ := l.plan([]account.Account{shadowOf(l.ou.suffix, anchor)}, plan.Absence{}, plan.Policy{})
	results := l.apply(p)
	require.Len(t, results, 1)
	e := l.find(results[0].ID)
	assert.EqualValues(t, 0x40200, uacOf(t, e))
	assert.NotEqual(t, "0", e.GetAttributeValue("pwdLastSet"))
}
