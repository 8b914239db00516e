package ldap

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/guestsync/guestsync/pkg/source"
)

// Active Directory returns at most MaxValRange (1,500 by default) values
// of a multi-valued attribute per request: a group with more members
// comes back as "member;range=0-1499", and the rest must be asked for as
// "member;range=1500-*", and so on until a range ends with "*".

// valueRange is the range option of an attribute description.
type valueRange struct {
	attr string // the description without the range option: "member"
	low  int
	high int // -1 for "*": these are the last values
}

func (v valueRange) last() bool { return v.high < 0 }

// parseRange finds the range option in an attribute description such as
// "member;range=0-1499". ok is false when there is none.
func parseRange(desc string) (v valueRange, ok bool, err error) {
	parts := strings.Split(desc, ";")
	var rest []string
	for _, p := range parts {
		spec, isRange := cutPrefixFold(p, "range=")
		if !isRange {
			rest = append(rest, p)
			continue
		}
		if ok {
			return valueRange{}, false, fmt.Errorf("attribute %q: two range options", desc)
		}
		ok = true
		lo, hi, found := strings.Cut(spec, "-")
		if !found {
			return valueRange{}, false, fmt.Errorf("attribute %q: range %q is not low-high", desc, spec)
		}
		if v.low, err = strconv.Atoi(lo); err != nil || v.low < 0 {
			return valueRange{}, false, fmt.Errorf("attribute %q: range %q does not start with a number", desc, spec)
		}
		if hi == "*" {
			v.high = -1
		} else if v.high, err = strconv.Atoi(hi); err != nil || v.high < v.low {
			return valueRange{}, false, fmt.Errorf("attribute %q: range %q does not end with a number at least %d, or *", desc, spec, v.low)
		}
	}
	if !ok {
		return valueRange{}, false, nil
	}
	v.attr = strings.Join(rest, ";")
	if v.attr == "" {
		return valueRange{}, false, fmt.Errorf("attribute %q: no name before the range option", desc)
	}
	return v, true, nil
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return "", false
}

// entryReader reads one entry with the given attributes. It returns nil
// and no error when the server returns no entry.
type entryReader interface {
	readEntry(ctx context.Context, dn string, attrs []string) (*goldap.Entry, error)
}

// readRanged returns every value of attr of the entry dn, following
// Active Directory's ranged retrieval when the server splits them. An
// entry without the attribute gives no values and no error.
func readRanged(ctx context.Context, er entryReader, dn, attr string) ([]string, error) {
	return fetchRanges(ctx, er, dn, attr, nil, -1)
}

// fetchRanges asks for the values of attr from index next on ("attr;
// range=next-*"), or for attr plainly when next is -1, appending them to
// values until the server says it has sent the last ones.
func fetchRanges(ctx context.Context, er entryReader, dn, attr string, values []string, next int) ([]string, error) {
	for {
		desc := attr
		if next >= 0 {
			desc = fmt.Sprintf("%s;range=%d-*", attr, next)
		}
		e, err := er.readEntry(ctx, dn, []string{desc})
		if err != nil {
			return nil, fmt.Errorf("read %s of %q: %w", desc, dn, err)
		}
		got, rng, found, err := pickAttribute(e, attr)
		switch {
		case err != nil:
			return nil, fmt.Errorf("read %s of %q: %w", desc, dn, err)
		case !found && next < 0:
			return values, nil // no such attribute
		case !found:
			return nil, fmt.Errorf("read %s of %q: the server returned no values (did the entry change during the read?)", desc, dn)
		case rng == nil && next > 0:
			// The server ignored the range and sent every value.
			return got, nil
		case rng == nil:
			return append(values, got...), nil
		case rng.low != max(next, 0):
			return nil, fmt.Errorf("read %s of %q: the server returned the values from %d, not %d", desc, dn, rng.low, max(next, 0))
		}
		values = append(values, got...)
		if rng.last() {
			return values, nil
		}
		next = rng.high + 1
	}
}

// pickAttribute returns the values of attr in e, plainly named or with a
// range option.
func pickAttribute(e *goldap.Entry, attr string) (values []string, rng *valueRange, found bool, err error) {
	if e == nil {
		return nil, nil, false, nil
	}
	for _, a := range e.Attributes {
		if strings.EqualFold(a.Name, attr) {
			return byteStrings(a.ByteValues), nil, true, nil
		}
		v, ok, err := parseRange(a.Name)
		if err != nil {
			return nil, nil, false, err
		}
		if ok && strings.EqualFold(v.attr, attr) {
			return byteStrings(a.ByteValues), &v, true, nil
		}
	}
	return nil, nil, false, nil
}

func byteStrings(bs [][]byte) []string {
	out := make([]string, len(bs))
	for i, b := range bs {
		out[i] = string(b)
	}
	return out
}

// completeRanges replaces each "attr;range=x-y" of e by every value of
// attr under its plain name, fetching the values the server held back.
// An attribute requested with an explicit range option is left as it
// came: whoever asked for part of the values wanted only that part.
func completeRanges(ctx context.Context, er entryReader, e *source.Entry, requested []string) error {
	for desc, values := range e.Attributes {
		if !strings.Contains(desc, ";") {
			continue
		}
		v, ok, err := parseRange(desc)
		if err != nil {
			return fmt.Errorf("entry %q: %w", e.DN, err)
		}
		if !ok || requestedRange(requested, v.attr) {
			continue
		}
		if v.low != 0 {
			return fmt.Errorf("entry %q: the server returned %s, without the values before %d", e.DN, desc, v.low)
		}
		all := values
		if !v.last() {
			if all, err = fetchRanges(ctx, er, e.DN, v.attr, values, v.high+1); err != nil {
				return err
			}
		}
		delete(e.Attributes, desc)
		e.Add(v.attr, all...)
	}
	return nil
}

// requestedRange reports whether attr was requested with a range option.
func requestedRange(requested []string, attr string) bool {
	for _, r := range requested {
		if v, ok, err := parseRange(r); err == nil && ok && strings.EqualFold(v.attr, attr) {
			return true
		}
	}
	return false
}
