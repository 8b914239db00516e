package mapping

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/guestsync/guestsync/pkg/account"
	"github.com/guestsync/guestsync/pkg/mapping/expr"
	"github.com/guestsync/guestsync/pkg/schema"
	"github.com/guestsync/guestsync/pkg/source"
)

// outcome is what a flow produced for one entry.
type outcome struct {
	// single holds a single-valued result without allocating a slice;
	// values holds the rest.
	single    string
	hasSingle bool
	values    []string
	// null means the flow produced no value at all (a missing attribute,
	// an expression that returned Null).
	null bool
	// ignore means the flow asked not to be applied
	// (IgnoreFlowIfNullOrEmpty).
	ignore bool
}

type flow struct {
	target string
	// reads are the source attributes the flow reads.
	reads         []string
	property      schema.Property
	createOnly    bool
	defaultIfNull *string
	eval          evalFunc
	// unique: the expression uses SelectUniqueValue, so its candidates
	// are checked against the target through Options.Taken.
	unique bool
	// redact: the expression uses Redact; the value flows, but plans and
	// logs show expr.RedactedText.
	redact bool
}

// evalFunc computes a flow's value for an entry; env reads the entry's
// attributes for expressions, ev carries the clock and randomness.
type evalFunc func(e source.Entry, env expr.Env, ev *expr.Evaluator) (outcome, error)

// Options are what mapping needs from the outside world. The zero value
// uses the system clock and crypto/rand and treats every value as unused in
// the target.
type Options struct {
	Now  func() time.Time
	Rand io.Reader
	// Taken reports whether value is already used for the target's
	// property by an object other than the account with this anchor (an
	// account's own value is never "taken", or a re-run would pick the
	// next candidate); SelectUniqueValue skips taken candidates.
	Taken func(anchor, property, value string) (bool, error)
}

func directValue(attr string) evalFunc {
	return func(e source.Entry, _ expr.Env, _ *expr.Evaluator) (outcome, error) {
		v := e.Values(attr)
		if v == nil {
			return outcome{null: true}, nil
		}
		return outcome{values: v}, nil
	}
}

func constantValue(s string) evalFunc {
	return func(source.Entry, expr.Env, *expr.Evaluator) (outcome, error) {
		return outcome{single: s, hasSingle: true}, nil
	}
}

// Result is what mapping one entry produced.
type Result struct {
	// InScope is false when the scope left the entry out; Reason says why.
	InScope bool
	Reason  string
	// Account is the desired account, valid when InScope and Err is nil.
	Account account.Account
	// Err lists every flow that failed for this entry.
	Err error
}

// Map applies the mapping to one entry with the default Options.
func (m *Mapping) Map(e source.Entry) Result {
	return m.MapWith(e, Options{})
}

// MapWith applies the mapping to one entry.
func (m *Mapping) MapWith(e source.Entry, o Options) Result {
	if ok, why := inScope(m.scope, e); !ok {
		return Result{Reason: why}
	}
	g := account.Account{Source: e.DN, Properties: make(map[string]string, len(m.flows))}
	var errs []error
	anchor, err := m.anchorOf(e)
	if err != nil {
		errs = append(errs, err)
	}
	g.Anchor = anchor
	ev := &expr.Evaluator{Now: o.Now, Rand: o.Rand}
	env := &entryEnv{Entry: e}
	for i := range m.flows {
		f := &m.flows[i]
		ev.Unique = nil
		if f.unique && o.Taken != nil {
			target, anchor := f.target, g.Anchor
			ev.Unique = func(v string) (bool, error) {
				taken, err := o.Taken(anchor, target, v)
				return !taken, err
			}
		}
		v, set, err := f.apply(e, env, ev)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", f.target, err))
			continue
		}
		if !set {
			continue
		}
		g.Properties[f.target] = v
		if f.createOnly {
			g.CreateOnly = append(g.CreateOnly, f.target)
		}
		if f.redact {
			g.Redacted = append(g.Redacted, f.target)
		}
	}
	for _, name := range m.required {
		if _, ok := g.Properties[name]; !ok && len(errs) == 0 {
			errs = append(errs, fmt.Errorf("%s: no value, and the %s cannot be created without one", name, m.noun()))
		}
	}
	return Result{InScope: true, Account: g, Err: errors.Join(errs...)}
}

// apply evaluates the flow and checks the value against the property's
// documented type and length. set is false for "do not set this property".
func (f *flow) apply(e source.Entry, env expr.Env, ev *expr.Evaluator) (v string, set bool, err error) {
	out, err := f.eval(e, env, ev)
	if err != nil {
		return "", false, err
	}
	switch {
	case out.ignore:
		return "", false, nil
	case out.hasSingle:
		v = out.single
	case out.null || len(out.values) == 0:
		if f.defaultIfNull == nil {
			return "", false, nil
		}
		v = *f.defaultIfNull
	case len(out.values) > 1:
		return "", false, fmt.Errorf("%d values (%s), but the property takes one", len(out.values), expr.ListValues(out.values))
	default:
		v = out.values[0]
	}
	if len(v) > expr.MaxTextBytes {
		// Also for direct and constant flows, and for the properties
		// whose length Graph does not document: no Graph property takes
		// this much, and a value this long would only fail its request.
		return "", false, fmt.Errorf("value is %d bytes; a mapped value may be at most 64 KiB", len(v))
	}
	if !utf8.ValidString(v) {
		return "", false, fmt.Errorf("value is not valid UTF-8 text (%s)", expr.QuoteValue(v))
	}
	switch f.property.Kind {
	case schema.Bool:
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "true", "1":
			v = "true"
		case "false", "0":
			v = "false"
		default:
			return "", false, fmt.Errorf("%s is not a boolean (True or False)", expr.QuoteValue(v))
		}
	default:
		// The target's documented limits and character rules, the same
		// check the target makes before it writes: a value the directory
		// would refuse is a mapping failure of its entry, seen by plan and
		// validate, not a failed write.
		if err := f.property.CheckValue(v); err != nil {
			return "", false, err
		}
	}
	return v, true, nil
}

// noun is what one account of the mapping's target is called.
func (m *Mapping) noun() string { return nounOf(m.table) }

// AnchorOf returns the anchor the mapping gives entry e, whatever its
// scope: the engine uses it to name accounts that left the scope or were
// deleted.
func (m *Mapping) AnchorOf(e source.Entry) (string, error) { return m.anchorOf(e) }

// anchorOf computes the anchor from the first anchor attribute the entry
// has. In AnchorText format it is the value as it is. In AnchorGUID format
// it is onPremisesImmutableId: base64 of the 16 bytes of a binary GUID
// (objectGUID, ms-DS-ConsistencyGuid; Entra Connect's convention) or of an
// RFC 4122 UUID string such as OpenLDAP's entryUUID, in textual byte order.
func (m *Mapping) anchorOf(e source.Entry) (string, error) {
	for _, attr := range m.anchor {
		v, ok := e.First(attr)
		if !ok || v == "" {
			continue
		}
		if m.anchorFormat == AnchorText {
			return textAnchor(attr, v)
		}
		b, err := guidBytes(v)
		if err != nil {
			return "", fmt.Errorf("anchor %s: %w", attr, err)
		}
		return base64.StdEncoding.EncodeToString(b), nil
	}
	return "", fmt.Errorf("anchor: the entry has none of %s", strings.Join(m.anchor, ", "))
}

// maxTextAnchor bounds a text anchor: the target stores it (AD: in its
// ownership mark, an attribute of at most 1,024 characters, with the
// owner), and an identifier is never this long.
const maxTextAnchor = 256

// textAnchor checks a text anchor: an identifier, printable and short.
func textAnchor(attr, v string) (string, error) {
	if !utf8.ValidString(v) {
		return "", fmt.Errorf("anchor %s: the value is not UTF-8 text; use `anchor.format: guid` for a binary GUID", attr)
	}
	if n := utf8.RuneCountInString(v); n > maxTextAnchor {
		return "", fmt.Errorf("anchor %s: the value is %d characters; a text anchor may be at most %d", attr, n, maxTextAnchor)
	}
	for _, r := range v {
		if r < 0x20 || r == 0x7f {
			return "", fmt.Errorf("anchor %s: the value contains the control character %U", attr, r)
		}
	}
	return v, nil
}

func guidBytes(v string) ([]byte, error) {
	if len(v) == 16 {
		return []byte(v), nil
	}
	s := strings.TrimSuffix(strings.TrimPrefix(v, "{"), "}")
	if len(s) == 36 && s[8] == '-' && s[13] == '-' && s[18] == '-' && s[23] == '-' {
		hex := strings.ReplaceAll(s, "-", "")
		out := make([]byte, 16)
		for i := range out {
			hi, ok1 := unhex(hex[2*i])
			lo, ok2 := unhex(hex[2*i+1])
			if !ok1 || !ok2 {
				return nil, fmt.Errorf("%q is not a UUID", v)
			}
			out[i] = hi<<4 | lo
		}
		return out, nil
	}
	return nil, fmt.Errorf("value of %d bytes is neither a 16-byte binary GUID nor a UUID string", len(v))
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// UniqueTargets lists the properties whose flows use SelectUniqueValue:
// the ones Options.Taken is asked about.
func (m *Mapping) UniqueTargets() []string {
	var out []string
	for _, f := range m.flows {
		if f.unique {
			out = append(out, f.target)
		}
	}
	return out
}

// SourceAttributes are the source attributes the mapping reads (its
// anchor, scope and flows), sorted: what a source that must name what it
// reads (Graph's $select) asks for.
func (m *Mapping) SourceAttributes() []string {
	set := map[string]bool{}
	for _, a := range m.anchor {
		set[a] = true
	}
	for _, g := range m.scope {
		for _, cl := range g.clauses {
			set[cl.attribute] = true
		}
	}
	for _, f := range m.flows {
		for _, a := range f.reads {
			set[a] = true
		}
	}
	return slices.Sorted(maps.Keys(set))
}

// Targets are the properties the mapping writes, sorted: what a target
// must read back to compare them.
func (m *Mapping) Targets() []string {
	out := make([]string, 0, len(m.flows))
	for _, f := range m.flows {
		out = append(out, f.target)
	}
	slices.Sort(out)
	return slices.Compact(out)
}
