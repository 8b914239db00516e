package ad

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/guestsync/guestsync/pkg/plan"
	adsource "github.com/guestsync/guestsync/pkg/source/ad"
)

// Apply carries out the actions, Concurrency objects at a time, each
// worker on a connection of its own, and returns one result per action
// other than Skip, in the order of the actions. An object's requests are
// sent one after the other. A failed action is reported in its result,
// with the DN and the LDAP result, and does not stop the others; a worker
// whose connection broke connects again for its next object.
//
// Nothing is sent over a connection that is not encrypted: every action
// fails before the target connects. Once ctx is cancelled no new object
// is started; the requests of the objects in hand are finished (a shadow
// added without its password stays disabled, and is made anew by the next
// run: see the package comment), and the rest are reported not attempted.
func (t *Target) Apply(ctx context.Context, actions []plan.Action) []plan.Result {
	results := make([]plan.Result, len(actions))
	var todo []int
	for i, a := range actions {
		results[i] = plan.Result{Action: a, ID: a.ID}
		if a.Kind != plan.Skip {
			todo = append(todo, i)
		}
	}
	var refused *plan.Failure
	switch {
	case !t.dir.Encrypted():
		refused = &plan.Failure{Code: "insecureConnection", Message: fmt.Sprintf(
			"refusing to write to Active Directory over plain LDAP (%s): shadows get a password, which only travels encrypted; use ldaps:// or startTLS (allowInsecureBind does not apply to writes)",
			t.plainURLs())}
	case ctx.Err() != nil:
		refused = notAttempted(ctx.Err())
	}
	if refused != nil {
		for _, i := range todo {
			results[i].Failure = refused
		}
		return withoutSkips(results)
	}

	next := make(chan int)
	var wg sync.WaitGroup
	for range min(t.opts.Concurrency, len(todo)) {
		wg.Go(func() {
			var conn *goldap.Conn
			defer func() {
				if conn != nil {
					conn.Close()
				}
			}()
			for i := range next {
				if err := ctx.Err(); err != nil {
					results[i].Failure = notAttempted(err)
					continue
				}
				if conn == nil {
					c, err := t.connect(ctx)
					if err != nil {
						results[i].Failure = &plan.Failure{Message: err.Error()}
						continue
					}
					conn = c
				}
				results[i] = t.applyOne(conn, actions[i])
				if conn.IsClosing() {
					conn.Close()
					conn = nil
				}
			}
		})
	}
	for _, i := range todo {
		next <- i
	}
	close(next)
	wg.Wait()
	return withoutSkips(results)
}

func withoutSkips(results []plan.Result) []plan.Result {
	out := results[:0]
	for _, r := range results {
		if r.Action.Kind != plan.Skip {
			out = append(out, r)
		}
	}
	return out
}

func notAttempted(err error) *plan.Failure {
	return &plan.Failure{Message: "not attempted: the run was interrupted (" + err.Error() + ")"}
}

func (t *Target) plainURLs() string {
	var plain []string
	for _, u := range t.dir.URLs() {
		if !t.dir.Config().UsesTLS(u) {
			plain = append(plain, u.String())
		}
	}
	return strings.Join(plain, ", ")
}

// applyOne carries out one action.
func (t *Target) applyOne(conn *goldap.Conn, a plan.Action) plan.Result {
	r := plan.Result{Action: a, ID: a.ID}
	switch a.Kind {
	case plan.Create:
		id, f := t.create(conn, a)
		r.ID, r.Failure = id, f
		return r
	case plan.Update, plan.Disable, plan.Delete:
	default:
		r.Failure = &plan.Failure{Message: fmt.Sprintf("%s %s: the AD target does not %s (objects without guestsync's mark are never taken over, and deleted objects are not restored)", a.Kind, a.Name, a.Kind)}
		return r
	}
	obj, err := t.readShadow(conn, a.ID, a.Anchor)
	if err != nil {
		r.Failure = ldapFailure(fmt.Sprintf("%s %s (objectGUID %s)", a.Kind, a.Name, a.ID), err)
		return r
	}
	steps, err := t.layout.Steps(a, obj)
	if err != nil {
		r.Failure = &plan.Failure{Message: err.Error()}
		return r
	}
	r.Failure = t.run(conn, steps)
	return r
}

// create makes a new shadow, first deleting a half-made one of the same
// anchor, and returns its objectGUID.
func (t *Target) create(conn *goldap.Conn, a plan.Action) (string, *plan.Failure) {
	steps, err := t.layout.Steps(a, Object{})
	if err != nil {
		return "", &plan.Failure{Message: err.Error()}
	}
	t.mu.Lock()
	half, ok := t.halfMade[a.Anchor]
	t.mu.Unlock()
	if ok {
		if f := t.deleteHalfMade(conn, half, a.Anchor); f != nil {
			return "", f
		}
		t.mu.Lock()
		delete(t.halfMade, a.Anchor)
		t.mu.Unlock()
	}
	dn := steps[0].DN
	f := t.run(conn, steps[:1])
	if f != nil && f.Code == "entryAlreadyExists" && !ok {
		// A create that stopped half-way in a run whose Current this
		// target did not make (a saved plan applied later).
		if t.deleteHalfMade(conn, dn, a.Anchor) == nil {
			f = t.run(conn, steps[:1])
		}
	}
	if f != nil {
		return "", f
	}
	if f := t.run(conn, steps[1:]); f != nil {
		return "", f
	}
	id, err := t.guidOf(conn, dn)
	if err != nil {
		return "", ldapFailure("read the objectGUID of "+dn, err)
	}
	return id, nil
}

// deleteHalfMade deletes the object at dn if it is a half-made shadow of
// anchor: marked for it, disabled, and without SMARTCARD_REQUIRED.
func (t *Target) deleteHalfMade(conn *goldap.Conn, dn, anchor string) *plan.Failure {
	req := goldap.NewSearchRequest(dn, goldap.ScopeBaseObject, goldap.NeverDerefAliases, 1, 0, false,
		"(objectClass=user)", []string{t.opts.MarkAttribute, "userAccountControl"}, nil)
	res, err := conn.Search(req)
	switch {
	case goldap.IsErrorWithCode(err, goldap.LDAPResultNoSuchObject):
		return nil // gone already
	case err != nil:
		return ldapFailure("read the half-made shadow "+dn, err)
	case len(res.Entries) != 1:
		return &plan.Failure{Code: "entryAlreadyExists", Message: fmt.Sprintf("create %s: an object that is not a user has this DN", dn)}
	}
	e := res.Entries[0]
	if err := t.checkMark(e, anchor); err != nil {
		return &plan.Failure{Message: err.Error()}
	}
	if uac, _ := strconv.ParseUint(e.GetAttributeValue("userAccountControl"), 10, 32); uac&uacSmartcardRequired != 0 || uac&uacAccountDisable == 0 {
		return &plan.Failure{Code: "entryAlreadyExists", Message: fmt.Sprintf("create %s: the shadow of %s exists already", dn, anchor)}
	}
	t.log.Info("ad write", "op", "delete", "dn", dn, "why", "a half-made shadow, made anew")
	if err := conn.Del(goldap.NewDelRequest(dn, nil)); err != nil {
		return ldapFailure("delete the half-made shadow "+dn, err)
	}
	return nil
}

// guidOf reads the objectGUID of the object at dn, as text.
func (t *Target) guidOf(conn *goldap.Conn, dn string) (string, error) {
	req := goldap.NewSearchRequest(dn, goldap.ScopeBaseObject, goldap.NeverDerefAliases, 1, 0, false,
		"(objectClass=*)", []string{"objectGUID"}, nil)
	res, err := conn.Search(req)
	if err != nil {
		return "", err
	}
	if len(res.Entries) != 1 {
		return "", errors.New("not found")
	}
	return adsource.GUIDString(res.Entries[0].GetRawAttributeValue("objectGUID"))
}

// run sends the steps in order and stops at the first that fails.
func (t *Target) run(conn *goldap.Conn, steps []Step) *plan.Failure {
	for _, s := range steps {
		err := t.send(conn, s)
		if err != nil && s.Member && goldap.IsErrorAnyOf(err, goldap.LDAPResultEntryAlreadyExists, goldap.LDAPResultAttributeOrValueExists) {
			err = nil // a member already
		}
		if err != nil {
			return ldapFailure(fmt.Sprintf("%s %s", s.Op, s.DN), err)
		}
	}
	return nil
}

// send sends one step. The log names the step and its attributes, never
// their values: a password is never among them, and a mapping may have
// redacted others.
func (t *Target) send(conn *goldap.Conn, s Step) error {
	var names []string
	for _, m := range s.Mods {
		names = append(names, m.Attribute)
	}
	switch s.Op {
	case OpAdd:
		req := goldap.NewAddRequest(s.DN, nil)
		for _, m := range s.Mods {
			req.Attribute(m.Attribute, m.Values)
		}
		t.log.Info("ad write", "op", s.Op, "dn", s.DN, "attributes", names)
		return conn.Add(req)
	case OpModify:
		req := goldap.NewModifyRequest(s.DN, nil)
		if s.Password {
			pw, err := NewPassword()
			if err != nil {
				return err
			}
			req.Replace("unicodePwd", []string{EncodePassword(pw)})
			names = append(names, "unicodePwd")
		}
		for _, m := range s.Mods {
			switch m.Kind {
			case "add":
				req.Add(m.Attribute, m.Values)
			case "delete":
				req.Delete(m.Attribute, m.Values)
			default:
				req.Replace(m.Attribute, m.Values)
			}
		}
		t.log.Info("ad write", "op", s.Op, "dn", s.DN, "attributes", names)
		return conn.Modify(req)
	case OpModRDN:
		t.log.Info("ad write", "op", s.Op, "dn", s.DN, "newRDN", s.NewRDN, "newSuperior", s.NewSuperior)
		return conn.ModifyDN(goldap.NewModifyDNRequest(s.DN, s.NewRDN, true, s.NewSuperior))
	case OpDelete:
		t.log.Info("ad write", "op", s.Op, "dn", s.DN)
		return conn.Del(goldap.NewDelRequest(s.DN, nil))
	}
	return fmt.Errorf("unknown change %q", s.Op)
}

// ldapFailure turns an LDAP error into a plan failure: Status is the LDAP
// result code, Code its RFC 4511 name, Message what was done and what the
// server said.
func ldapFailure(what string, err error) *plan.Failure {
	f := &plan.Failure{Message: what + ": " + err.Error()}
	var le *goldap.Error
	if errors.As(err, &le) && le.ResultCode < goldap.ErrorNetwork {
		f.Status = int(le.ResultCode)
		f.Code = resultName(le.ResultCode)
	}
	return f
}

// resultName is the RFC 4511 name of an LDAP result code
// (constraintViolation, entryAlreadyExists, ...).
func resultName(code uint16) string {
	name := goldap.LDAPResultCodeMap[code]
	words := strings.Fields(name)
	for i, w := range words {
		if i == 0 {
			words[i] = strings.ToLower(w[:1]) + w[1:]
		}
	}
	return strings.Join(words, "")
}
