package expr

import (
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// .NET date and time format strings, as FormatDateTime writes and reads
// them: DateTime.ToString(format) and DateTime.ParseExact(s, format,
// culture, styles) with the en-US culture (English month and day names,
// AM and PM, / and :), the culture whose "M/d/yyyy h:mm:ss tt" Now and
// CDate are documented to write.
//
// Custom specifiers: d dd ddd dddd, M MM MMM MMMM, y yy yyy yyyy yyyyy,
// h hh H HH, m mm, s ss, f to fffffff, F to FFFFFFF, t tt, z zz zzz, K, g,
// the separators : and /, 'quoted' and "quoted" text, \c for a literal
// character and %c for a lone specifier. Any other character is itself.
// When reading, Z matches Z or GMT (UTC), K matches Z, an offset or
// nothing, and an unquoted GMT means UTC.
//
// A format of one character is a standard format: d D f F g G M m O o R r
// s t T u U Y y, expanded as en-US does.
//
// Every value is UTC (see datetime.go), so z writes +0, zz +00, zzz +00:00
// and K writes Z.

// layoutItem is one element of a compiled format.
type layoutItem struct {
	spec   byte   // a specifier letter, or 0 for literal text
	n      int    // repeat count of spec
	lit    string // literal text (spec 0)
	quoted bool   // lit came from quotes or a backslash: matched exactly
	gmt    bool   // lit is an unquoted GMT, meaning UTC when reading
}

type layout []layoutItem

// standardLayouts are the one-character formats, as en-US expands them.
var standardLayouts = map[byte]string{
	'd': "M/d/yyyy",
	'D': "dddd, MMMM d, yyyy",
	'f': "dddd, MMMM d, yyyy h:mm tt",
	'F': "dddd, MMMM d, yyyy h:mm:ss tt",
	'g': "M/d/yyyy h:mm tt",
	'G': "M/d/yyyy h:mm:ss tt",
	'M': "MMMM d", 'm': "MMMM d",
	'O': "yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'fffffffK", 'o': "yyyy'-'MM'-'dd'T'HH':'mm':'ss'.'fffffffK",
	'R': "ddd, dd MMM yyyy HH':'mm':'ss 'GMT'", 'r': "ddd, dd MMM yyyy HH':'mm':'ss 'GMT'",
	's': "yyyy'-'MM'-'dd'T'HH':'mm':'ss",
	't': "h:mm tt",
	'T': "h:mm:ss tt",
	'u': "yyyy'-'MM'-'dd HH':'mm':'ss'Z'",
	'U': "dddd, MMMM d, yyyy h:mm:ss tt",
	'Y': "MMMM yyyy", 'y': "MMMM yyyy",
}

const maxFractionDigits = 7

// compileLayout parses a .NET date/time format string.
func compileLayout(format string) (layout, error) {
	if format == "" {
		format = "G" // DateTime.ToString("") is ToString()
	}
	if len(format) == 1 {
		std, ok := standardLayouts[format[0]]
		switch {
		case !ok && strings.Contains("yMdhHmsfFtzKg", format):
			return nil, fmt.Errorf("%q is not a standard date/time format; write %%%s for the custom specifier", format, format)
		case !ok:
			return nil, fmt.Errorf("%s is not a standard date/time format", QuoteValue(format))
		}
		format = std
	}
	var l layout
	for i := 0; i < len(format); {
		ch := format[i]
		switch ch {
		case 'y', 'M', 'd', 'h', 'H', 'm', 's', 'f', 'F', 't', 'z', 'g':
			n := 1
			for i+n < len(format) && format[i+n] == ch {
				n++
			}
			if (ch == 'f' || ch == 'F') && n > maxFractionDigits {
				return nil, fmt.Errorf("%s: at most %d %c may be used for fractions of a second", QuoteValue(format), maxFractionDigits, ch)
			}
			l = append(l, layoutItem{spec: ch, n: n})
			i += n
		case 'K', 'Z', ':', '/':
			l = append(l, layoutItem{spec: ch, n: 1})
			i++
		case '\'', '"':
			var b strings.Builder
			j := i + 1
			closed := false
			for j < len(format) {
				c := format[j]
				j++
				if c == ch {
					closed = true
					break
				}
				if c == '\\' {
					if j == len(format) {
						break
					}
					c = format[j]
					j++
				}
				b.WriteByte(c)
			}
			if !closed {
				return nil, fmt.Errorf("%s: missing closing %c", QuoteValue(format), ch)
			}
			l = append(l, layoutItem{lit: b.String(), quoted: true})
			i = j
		case '%':
			if i+1 == len(format) || format[i+1] == '%' {
				return nil, fmt.Errorf("%s: %% must be followed by one specifier", QuoteValue(format))
			}
			// %c is the single character c as a custom format.
			_, w := utf8.DecodeRuneInString(format[i+1:])
			sub, err := compileLayout(format[i+1:i+1+w] + "\x00")
			if err != nil {
				return nil, err
			}
			l = append(l, sub[:len(sub)-1]...)
			i += 1 + w
		case '\\':
			if i+1 == len(format) {
				return nil, fmt.Errorf("%s: a format cannot end with \\", QuoteValue(format))
			}
			_, w := utf8.DecodeRuneInString(format[i+1:])
			l = append(l, layoutItem{lit: format[i+1 : i+1+w], quoted: true})
			i += 1 + w
		default:
			if strings.HasPrefix(format[i:], "GMT") {
				l = append(l, layoutItem{lit: "GMT", gmt: true})
				i += 3
				continue
			}
			_, w := utf8.DecodeRuneInString(format[i:])
			l = append(l, layoutItem{lit: format[i : i+w]})
			i += w
		}
	}
	return l, nil
}

var (
	amDesignator = "AM"
	pmDesignator = "PM"
	eraName      = "A.D."
)

// format writes ticks with the layout, as DateTime.ToString does.
func (l layout) format(ticks int64) string {
	c := civilOf(ticks)
	var b strings.Builder
	pad := func(v, width int) {
		s := strconv.Itoa(v)
		for k := len(s); k < width; k++ {
			b.WriteByte('0')
		}
		b.WriteString(s)
	}
	for _, it := range l {
		switch it.spec {
		case 0:
			b.WriteString(it.lit)
		case 'd':
			switch {
			case it.n <= 2:
				pad(c.day, it.n)
			case it.n == 3:
				b.WriteString(dayNames[weekdayOf(ticks)][:3])
			default:
				b.WriteString(dayNames[weekdayOf(ticks)])
			}
		case 'M':
			switch {
			case it.n <= 2:
				pad(c.month, it.n)
			case it.n == 3:
				b.WriteString(monthNames[c.month-1][:3])
			default:
				b.WriteString(monthNames[c.month-1])
			}
		case 'y':
			if it.n <= 2 {
				pad(c.year%100, it.n)
			} else {
				pad(c.year, it.n)
			}
		case 'h':
			h := c.hour % 12
			if h == 0 {
				h = 12
			}
			pad(h, min(it.n, 2))
		case 'H':
			pad(c.hour, min(it.n, 2))
		case 'm':
			pad(c.minute, min(it.n, 2))
		case 's':
			pad(c.second, min(it.n, 2))
		case 'f', 'F':
			frac := c.frac
			for k := it.n; k < maxFractionDigits; k++ {
				frac /= 10
			}
			digits := it.n
			if it.spec == 'F' {
				for digits > 0 && frac%10 == 0 {
					frac /= 10
					digits--
				}
				if digits == 0 {
					// .NET drops a '.' written just before an empty F.
					if s := b.String(); strings.HasSuffix(s, ".") {
						b.Reset()
						b.WriteString(s[:len(s)-1])
					}
					continue
				}
			}
			pad(int(frac), digits)
		case 't':
			d := amDesignator
			if c.hour >= 12 {
				d = pmDesignator
			}
			if it.n == 1 {
				d = d[:1]
			}
			b.WriteString(d)
		case 'z':
			switch it.n {
			case 1:
				b.WriteString("+0")
			case 2:
				b.WriteString("+00")
			default:
				b.WriteString("+00:00")
			}
		case 'K':
			b.WriteByte('Z')
		case 'Z', ':', '/':
			b.WriteByte(it.spec)
		case 'g':
			b.WriteString(eraName)
		}
	}
	return b.String()
}
