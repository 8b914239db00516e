package expr

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The limits of one evaluation. A mapping computes Graph user properties,
// and the longest Graph lets a mapping write is 1,024 characters
// (streetAddress), so no real mapping comes near them; they are there so
// that a hostile or broken entry (a 100 MB attribute, a million values) or
// a runaway expression (nested Replace calls doubling a string) fails one
// entry with a clear message instead of exhausting the memory or the time
// of the whole run.
const (
	// MaxTextBytes bounds one string an evaluation builds: 64 times the
	// longest property Graph accepts.
	MaxTextBytes = 64 << 10
	// MaxListValues bounds the values of one list an evaluation builds
	// (Split, or a function applied to every value of a multi-valued
	// attribute). Users' multi-valued attributes hold tens of values
	// (proxyAddresses) or at most some hundreds (memberOf).
	MaxListValues = 10_000
	// MaxEvalBytes bounds everything one evaluation builds, all its
	// intermediate strings and lists together, which bounds the work of
	// long chains of & and of nested calls.
	MaxEvalBytes = 4 << 20
	// maxMatches bounds the matches one regular expression may replace in
	// one value.
	maxMatches = 10_000
	// maxQuoted is how many characters of a value an error message quotes:
	// enough to recognise the value, never all of a huge one.
	maxQuoted = 100
)

// ErrLimit is wrapped by the *Error of an evaluation that would exceed one
// of the limits above.
var ErrLimit = errors.New("evaluation limit exceeded")

// limitError says which limit a result would exceed. The call that builds
// it names itself: "Join: the result would be 97.7 MiB; a value may be at
// most 64 KiB".
type limitError struct{ msg string }

func (e *limitError) Error() string { return e.msg }
func (e *limitError) Unwrap() error { return ErrLimit }

// budget is what one evaluation has built so far.
type budget struct{ built int }

// size is what a value holds: how many values, how many bytes in all, and
// the length of the longest.
type size struct{ values, bytes, longest int }

func sizeOf(v Value) size {
	switch v.kind {
	case KindString:
		return size{1, len(v.s), len(v.s)}
	case KindMulti:
		s := size{values: len(v.mv)}
		for _, x := range v.mv {
			s.bytes += len(x)
			s.longest = max(s.longest, len(x))
		}
		return s
	case KindNull, KindIgnored:
		return size{}
	}
	return size{1, 0, 0} // numbers, Booleans and date/times are small
}

func textSize(n int) size { return size{1, n, n} }

// fits checks that a result of size s may still be built, without counting
// it: the check a function makes before work proportional to its input.
func (x evalCtx) fits(s size) error {
	switch {
	case s.values > MaxListValues:
		return &limitError{fmt.Sprintf("the result would have %s values; a list may have at most %s", count(s.values), count(MaxListValues))}
	case s.longest > MaxTextBytes:
		return &limitError{fmt.Sprintf("the result would be %s; a value may be at most %s", over(s.longest, MaxTextBytes), bytesText(MaxTextBytes))}
	case x.b != nil && x.b.built+s.bytes > MaxEvalBytes:
		return &limitError{fmt.Sprintf("the expression would build %s in all; an evaluation may build at most %s", over(x.b.built+s.bytes, MaxEvalBytes), bytesText(MaxEvalBytes))}
	}
	return nil
}

// charge checks a result of size s and counts it towards the evaluation's
// budget. Every value a function or the & operator builds is charged.
func (x evalCtx) charge(s size) error {
	if err := x.fits(s); err != nil {
		return err
	}
	if x.b != nil {
		x.b.built += s.bytes
	}
	return nil
}

// over shows a size n that exceeds limit, in bytes when rounding would
// make it look like the limit ("64.0 KiB" for 65,538 bytes).
func over(n, limit int) string {
	if t := bytesText(n); t != bytesText(limit) && !strings.Contains(t, ".0 ") {
		return t
	}
	return count(n) + " bytes"
}

// bytesText shows a size in bytes, KiB or MiB.
func bytesText(n int) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return strconv.Itoa(n>>20) + " MiB"
	case n >= 1<<20:
		return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MiB"
	case n >= 1<<10 && n%(1<<10) == 0:
		return strconv.Itoa(n>>10) + " KiB"
	case n >= 1<<10:
		return strconv.FormatFloat(float64(n)/(1<<10), 'f', 1, 64) + " KiB"
	}
	return count(n) + " bytes"
}

// count writes n with thousands separators: 10,000.
func count(n int) string {
	s := strconv.Itoa(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// QuoteValue quotes a value for a message: whole when it is short, else
// its first 100 characters and its length, so that a huge attribute value
// never ends up whole in an error, a skip reason or a report:
// "aaaa…" (70000 bytes).
func QuoteValue(s string) string {
	if len(s) <= maxQuoted {
		return strconv.Quote(s)
	}
	cut, n := len(s), 0
	for i := range s {
		if n == maxQuoted {
			cut = i
			break
		}
		n++
	}
	if cut == len(s) {
		return strconv.Quote(s)
	}
	return strconv.Quote(s[:cut]) + "… (" + count(len(s)) + " bytes)"
}

// TruncateMessage keeps a message (the Error function's, built from
// attribute values) to a bounded length, saying how long it was.
func TruncateMessage(s string) string {
	const limit = 10 * maxQuoted
	if len(s) <= limit {
		return s
	}
	cut := limit
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "… (" + count(len(s)) + " bytes)"
}

// maxListed is how many values of a list a message shows; maxShown is
// how many Value.String shows, which examples and tests print.
const (
	maxListed = 3
	maxShown  = 20
)

// ListValues shows at most the first three values of a list, each quoted
// by QuoteValue, and how many more there are.
func ListValues(vs []string) string {
	var b strings.Builder
	for i, v := range vs {
		if i == maxListed {
			fmt.Fprintf(&b, " and %s more", count(len(vs)-maxListed))
			break
		}
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(QuoteValue(v))
	}
	return b.String()
}
