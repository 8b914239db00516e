package expr

import (
	"cmp"
	"errors"
	"slices"
	"strconv"
	"strings"
)

// ErrRaised is wrapped by the *Error that the Error function returns, so
// that a caller can tell "the mapping rejected this entry on purpose" from
// a mistake in the expression or the data.
var ErrRaised = errors.New("raised by the Error function")

// Error is a problem found in an expression, at a position in its source.
// Compile returns them for syntax and type errors (several at once, joined
// with errors.Join), Eval for the call that failed.
type Error struct {
	Line, Col int    // 1-based; Col counts runes
	Msg       string // what is wrong, without the position
	Src       string // the whole expression source, for the excerpt
	Err       error  // the underlying cause, if any (ErrRaised, a regexp error, ...)
}

// Error renders "line:col: msg", then the source line and a caret under
// the column:
//
//	1:11: unknown function "Jion"; did you mean "Join"?
//	    Join("@", Jion([givenName]), "contoso.com")
//	              ^
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(strconv.Itoa(e.Line))
	b.WriteByte(':')
	b.WriteString(strconv.Itoa(e.Col))
	b.WriteString(": ")
	b.WriteString(e.Msg)
	if line, ok := sourceLine(e.Src, e.Line); ok {
		line, caret := excerpt(line, e.Col)
		b.WriteString("\n    ")
		b.WriteString(line)
		b.WriteString("\n    ")
		// Copy tabs so that the caret lines up however tabs are shown.
		col := 1
		for _, r := range line {
			if col >= caret {
				break
			}
			if r == '\t' {
				b.WriteByte('\t')
			} else {
				b.WriteByte(' ')
			}
			col++
		}
		for ; col < caret; col++ { // a column just past the end of the line
			b.WriteByte(' ')
		}
		b.WriteByte('^')
	}
	return b.String()
}

// maxExcerpt is how many characters of a source line an error shows: a
// message quotes the expression once per entry it fails for, and a
// one-line expression can be as long as its mapping file.
const maxExcerpt = 120

// excerpt returns at most maxExcerpt characters of line around column col
// (1-based), with "…" where it was cut, and the caret's column in it.
func excerpt(line string, col int) (string, int) {
	runes := []rune(line)
	if len(runes) <= maxExcerpt {
		return line, col
	}
	lo := max(0, min(col-1-maxExcerpt/2, len(runes)-maxExcerpt))
	hi := lo + maxExcerpt
	out, caret := string(runes[lo:hi]), col-lo
	if lo > 0 {
		out, caret = "…"+out, caret+1
	}
	if hi < len(runes) {
		out += "…"
	}
	return out, caret
}

// Unwrap returns the underlying cause.
func (e *Error) Unwrap() error { return e.Err }

// sourceLine returns line n (1-based) of src without its line ending.
func sourceLine(src string, n int) (string, bool) {
	if src == "" || n < 1 {
		return "", false
	}
	for i := 1; i < n; i++ {
		j := strings.IndexByte(src, '\n')
		if j < 0 {
			return "", false
		}
		src = src[j+1:]
	}
	if j := strings.IndexByte(src, '\n'); j >= 0 {
		src = src[:j]
	}
	return strings.TrimSuffix(src, "\r"), true
}

// Errors returns the *Error values in err, which may be a single *Error or
// an errors.Join of them, in order. It returns nil when err holds none.
func Errors(err error) []*Error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []*Error
		for _, e := range j.Unwrap() {
			out = append(out, Errors(e)...)
		}
		return out
	}
	var e *Error
	if errors.As(err, &e) {
		return []*Error{e}
	}
	return nil
}

// errorList collects compile errors.
type errorList struct {
	src  string
	errs []*Error
}

func (l *errorList) add(p Pos, msg string) {
	l.errs = append(l.errs, &Error{Line: p.Line, Col: p.Col, Msg: msg, Src: l.src})
}

func (l *errorList) addErr(p Pos, msg string, cause error) {
	l.errs = append(l.errs, &Error{Line: p.Line, Col: p.Col, Msg: msg, Src: l.src, Err: cause})
}

// err sorts the errors by position, keeps the first at each position (a
// later one there is usually a consequence of it) and joins them.
func (l *errorList) err() error {
	if len(l.errs) == 0 {
		return nil
	}
	slices.SortStableFunc(l.errs, func(a, b *Error) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Col, b.Col))
	})
	l.errs = slices.CompactFunc(l.errs, func(a, b *Error) bool { return a.Line == b.Line && a.Col == b.Col })
	if len(l.errs) == 1 {
		return l.errs[0]
	}
	errs := make([]error, len(l.errs))
	for i, e := range l.errs {
		errs[i] = e
	}
	return errors.Join(errs...)
}
