// Package ldif is the offline shadow-account target: instead of writing to
// Active Directory it writes the LDAP changes the AD target would send to
// an LDIF change file (RFC 2849 change records: changetype add, modify,
// modrdn, delete), for a change board to review and for an admin to import
// with `ldapmodify -f` or `ldifde -i -f`; and for `make demo`, which needs
// no directory.
//
// The changes are the AD target's own: the same ad.Layout turns each plan
// action into the same steps, and this package only prints them. One
// thing differs: a shadow's password is never written to a file. The
// record that would set it is a comment saying so; an admin sets a
// password (over an encrypted connection) before the record that enables
// the shadow, which Active Directory refuses for a user without one.
//
// Current reads what the directory holds from an LDIF export of the domain
// (`ldifde -f`, or `ldapsearch -LLL` with objectGUID, userAccountControl,
// the mark attribute and the mapped attributes), when one is given: the
// plan then updates, disables and deletes the shadows in it, and skips
// what clashes with other objects. Without one, the directory is taken as
// empty: every guest is a create, which is what a first import or the demo
// needs.
//
// The target makes no checks before writing (it is no engine.TargetCheck).
// What the AD target checks belongs to the directory and to whoever
// imports the file, which this target never sees: the connection the
// import uses, that the OU and the groups exist, the importing account's
// rights there, and the forest's UPN suffixes. An export of the domain
// would not tell either: the rights are computed per account by the
// server, and uPNSuffixes is in the configuration partition, which an
// export of the domain leaves out, so a suffix check made from it would
// warn of every suffix the forest lists. Before an import, `guestsync
// plan` with the ad target (which writes nothing) makes those checks
// against the directory.
package ldif

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/guestsync/guestsync/pkg/account"
	"github.com/guestsync/guestsync/pkg/plan"
	"github.com/guestsync/guestsync/pkg/source"
	sourceldif "github.com/guestsync/guestsync/pkg/source/ldif"
	"github.com/guestsync/guestsync/pkg/target/ad"
)

// Options configure a Target.
type Options struct {
	// Path is the change file to write. The first Apply of a Target
	// creates (or empties) it; later ones, the engine's next chunks,
	// append to it.
	Path string
	// Export is an LDIF export of the domain for Current; "" takes the
	// directory as empty.
	Export string
	// Layout is where shadows go and how they are marked, as for the AD
	// target (its Enabled is ad.EnabledProperty when "").
	Layout ad.Layout
	// Attributes are properties the mapping writes besides the usual ones,
	// as for the AD target.
	Attributes []string
}

// Target writes shadow-account changes to an LDIF file.
type Target struct {
	opts  Options
	props []string

	mu      sync.Mutex
	objects map[string]ad.Object // by lower-cased objectGUID, from the export
	started bool
}

// New checks opts and returns a Target.
func New(opts Options) (*Target, error) {
	var errs []error
	if opts.Path == "" {
		errs = append(errs, errors.New("path of the change file is required"))
	}
	if opts.Layout.OU == "" {
		errs = append(errs, errors.New("ou is required"))
	}
	if opts.Layout.Owner == "" {
		errs = append(errs, errors.New("owner is required"))
	}
	if opts.Layout.MarkAttribute == "" {
		opts.Layout.MarkAttribute = ad.DefaultMarkAttribute
	}
	if opts.Layout.Enabled == "" {
		opts.Layout.Enabled = ad.EnabledProperty
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("ldif target: %w", err)
	}
	return &Target{opts: opts, props: ad.Properties(opts.Attributes), objects: map[string]ad.Object{}}, nil
}

// Describe is the AD target's description under its own kind, "ldif": the
// plan is made the same way, but a plan saved for a change file (perhaps
// from no export at all) is not one to apply to the directory itself.
func (t *Target) Describe() plan.Target {
	d := ad.Describe(t.opts.Layout.MarkAttribute)
	d.Kind = "ldif"
	return d
}

// Current reads the accounts of the export, as the AD target reads them
// from the directory: this owner's shadows, and the names others' objects
// hold. Without an export there are none. A half-made shadow in the export
// is left out, as the AD target leaves it out; its create will then clash
// with it on import (the AD target deletes it first, which a change file
// written without seeing the directory cannot know to do).
func (t *Target) Current(ctx context.Context) ([]account.Account, error) {
	if t.opts.Export == "" {
		return nil, nil
	}
	var out []account.Account
	objects := map[string]ad.Object{}
	res, err := sourceldif.FileReader(t.opts.Export).Read(ctx, func(e source.Entry) error {
		value := func(a string) string { v, _ := e.First(a); return v }
		found, err := t.opts.Layout.Find(e.DN, value, t.props)
		switch {
		case err != nil:
			return err
		case found.Ignore, found.HalfMade:
		default:
			out = append(out, found.Account)
			if found.Account.Owned {
				objects[strings.ToLower(found.Account.ID)] = found.Object
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("ldif target: %w", err)
	}
	if !res.Complete {
		return nil, fmt.Errorf("ldif target: the export %s looks incomplete (%s): it cannot say which shadows exist", t.opts.Export, res.Incomplete)
	}
	t.mu.Lock()
	t.objects = objects
	t.mu.Unlock()
	return out, nil
}

// Apply writes the change records of the actions and returns one result
// per action other than Skip: written, or why not (an update, disable or
// delete of a shadow the export did not show; an action the AD target
// does not do). Once ctx is cancelled, the rest are not attempted.
func (t *Target) Apply(ctx context.Context, actions []plan.Action) []plan.Result {
	var results []plan.Result
	w, err := t.open()
	if err != nil {
		for _, a := range actions {
			if a.Kind != plan.Skip {
				results = append(results, plan.Result{Action: a, ID: a.ID, Failure: &plan.Failure{Message: err.Error()}})
			}
		}
		return results
	}
	cw := &changeWriter{w: w}
	for _, a := range actions {
		if a.Kind == plan.Skip {
			continue
		}
		r := plan.Result{Action: a, ID: a.ID}
		if err := ctx.Err(); err != nil {
			r.Failure = &plan.Failure{Message: "not attempted: the run was interrupted (" + err.Error() + ")"}
			results = append(results, r)
			continue
		}
		if err := t.write(cw, a); err != nil {
			r.Failure = &plan.Failure{Message: err.Error()}
		}
		results = append(results, r)
	}
	if err := errors.Join(cw.err, w.Close()); err != nil {
		for i := range results {
			if results[i].Failure == nil {
				results[i].Failure = &plan.Failure{Message: fmt.Sprintf("write %s: %v", t.opts.Path, err)}
			}
		}
	}
	return results
}

// open creates the change file on the first Apply and appends to it on
// the next ones.
func (t *Target) open() (io.WriteCloser, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	flags := os.O_WRONLY | os.O_CREATE | os.O_APPEND
	if !t.started {
		flags |= os.O_TRUNC
	}
	f, err := os.OpenFile(t.opts.Path, flags, 0o644)
	if err != nil {
		return nil, fmt.Errorf("ldif target: %w", err)
	}
	if !t.started {
		t.started = true
		if _, err := io.WriteString(f, header); err != nil {
			f.Close()
			return nil, fmt.Errorf("ldif target: write %s: %w", t.opts.Path, err)
		}
	}
	return f, nil
}

const header = `version: 1

# guestsync: shadow-account changes for Active Directory, in the order to
# import them: ldapmodify -H ldaps://dc.example.com -D <admin> -W -f FILE,
# or ldifde -i -f FILE -h. Passwords are left out: see each create.

`

// write writes one action's change records.
func (t *Target) write(cw *changeWriter, a plan.Action) error {
	var obj ad.Object
	if a.Kind != plan.Create {
		t.mu.Lock()
		o, ok := t.objects[strings.ToLower(a.ID)]
		t.mu.Unlock()
		if !ok {
			return fmt.Errorf("%s %s: the export does not show the shadow with objectGUID %s, so its DN is not known", a.Kind, a.Name, a.ID)
		}
		obj = o
	}
	steps, err := t.opts.Layout.Steps(a, obj)
	if err != nil {
		return err
	}
	what := fmt.Sprintf("%s the shadow of %s", a.Kind, a.Anchor)
	if a.Name != "" {
		what += " (" + a.Name + ")"
	}
	if a.Source != "" && a.Source != a.Anchor {
		what += ", from " + a.Source
	}
	cw.comment(strings.ToUpper(what[:1]) + what[1:])
	if a.Reason != "" {
		cw.comment("Why: " + a.Reason)
	}
	for _, s := range steps {
		cw.step(s)
	}
	return nil
}
