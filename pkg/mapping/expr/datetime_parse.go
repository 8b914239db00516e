package expr

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Reading a date with a .NET format string, as DateTime.ParseExact does
// (see datetime_format.go for the specifiers).

// dateStyles are the DateTimeStyles that change how guestsync reads a
// date. The others (AdjustToUniversal, AssumeLocal, AssumeUniversal,
// RoundtripKind) make no difference when every value is UTC.
type dateStyles uint8

const (
	styleLeadingWhite dateStyles = 1 << iota
	styleTrailingWhite
	styleInnerWhite
	styleNoCurrentDateDefault
)

// defaultDateStyles is documented for an empty dateTimeStyles:
// RoundtripKind, AllowLeadingWhite and AllowTrailingWhite.
const defaultDateStyles = styleLeadingWhite | styleTrailingWhite

// dateTimeStyleValues are System.Globalization.DateTimeStyles.
var dateTimeStyleValues = []struct {
	name  string
	value int
}{
	{"None", 0}, {"AllowLeadingWhite", 1}, {"AllowTrailingWhite", 2}, {"AllowInnerWhite", 4},
	{"AllowWhiteSpaces", 7}, {"NoCurrentDateDefault", 8}, {"AdjustToUniversal", 16},
	{"AssumeLocal", 32}, {"AssumeUniversal", 64}, {"RoundtripKind", 128},
}

// parseDateStyles reads a dateTimeStyles argument as .NET's Enum.Parse
// reads it: member names (here case-insensitive, with or without
// "DateTimeStyles."), or numbers, separated by commas (guestsync also
// accepts |).
func parseDateStyles(s string) (dateStyles, error) {
	v := 0
	for part := range strings.FieldsFuncSeq(s, func(r rune) bool { return r == ',' || r == '|' }) {
		part = strings.TrimSpace(part)
		name := part
		if len(name) > len("DateTimeStyles.") && equalFoldASCII(name[:len("DateTimeStyles.")], "DateTimeStyles.") {
			name = name[len("DateTimeStyles."):]
		}
		found := false
		for _, sv := range dateTimeStyleValues {
			if equalFoldASCII(name, sv.name) {
				v |= sv.value
				found = true
				break
			}
		}
		if !found {
			n, err := strconv.Atoi(name)
			if err != nil || n < 0 || n > 255 {
				return 0, fmt.Errorf("%s is not a DateTimeStyles value (such as AllowWhiteSpaces or AssumeUniversal)", QuoteValue(part))
			}
			v |= n
		}
	}
	if v&(32|64) == 32|64 || v&128 != 0 && v&(16|32|64) != 0 {
		return 0, fmt.Errorf("%s combines DateTimeStyles that .NET rejects together", QuoteValue(s))
	}
	var st dateStyles
	if v&1 != 0 {
		st |= styleLeadingWhite
	}
	if v&2 != 0 {
		st |= styleTrailingWhite
	}
	if v&4 != 0 {
		st |= styleInnerWhite
	}
	if v&8 != 0 {
		st |= styleNoCurrentDateDefault
	}
	return st, nil
}

// parse reads s with the layout, as DateTime.ParseExact does, and returns
// ticks in UTC.
func (l layout) parse(s string, st dateStyles, now func() time.Time) (int64, error) {
	items := []layoutItem(l)
	isSpace := func(it layoutItem) bool {
		return it.spec == 0 && !it.quoted && !it.gmt && strings.TrimFunc(it.lit, unicode.IsSpace) == ""
	}
	if st&styleTrailingWhite != 0 {
		s = strings.TrimRightFunc(s, unicode.IsSpace)
		for len(items) > 0 && isSpace(items[len(items)-1]) {
			items = items[:len(items)-1]
		}
	}
	if st&styleLeadingWhite != 0 {
		s = strings.TrimLeftFunc(s, unicode.IsSpace)
		for len(items) > 0 && isSpace(items[0]) {
			items = items[1:]
		}
	}
	p := exactParser{s: s, year: -1, month: -1, day: -1, hour: -1, minute: -1, second: -1, weekday: -1, frac: -1, mark: -1}
	for k := 0; k < len(items); k++ {
		it := items[k]
		if st&styleInnerWhite != 0 {
			p.skipSpaces()
		}
		if it.spec == 0 && !it.quoted && it.lit == "." {
			switch {
			case p.match("."):
			case k+1 < len(items) && items[k+1].spec == 'F':
				k++ // ".FFF" is optional as a whole
			default:
				return 0, errNoMatch
			}
			continue
		}
		if err := p.item(it, st); err != nil {
			return 0, err
		}
	}
	if p.i < len(p.s) {
		return 0, fmt.Errorf("unexpected %s at the end", QuoteValue(p.s[p.i:]))
	}
	return p.result(st, now)
}

// exactParser is the state of one ParseExact.
type exactParser struct {
	s                                      string
	i                                      int
	year, month, day, hour, minute, second int
	weekday                                int
	frac                                   int64 // ticks, -1 when not read
	twoDigitYear, hour12                   bool
	mark                                   int // -1 unset, 1 AM, 2 PM
	offset                                 int64
	zoned                                  bool
}

var errNoMatch = errors.New("does not match")

func (p *exactParser) skipSpaces() {
	for p.i < len(p.s) {
		r, w := utf8.DecodeRuneInString(p.s[p.i:])
		if !unicode.IsSpace(r) {
			return
		}
		p.i += w
	}
}

func (p *exactParser) match(lit string) bool {
	if strings.HasPrefix(p.s[p.i:], lit) {
		p.i += len(lit)
		return true
	}
	return false
}

// matchFold matches one of words case-insensitively, longest first, and
// returns its index.
func (p *exactParser) matchFold(words []string) int {
	best, bestLen := -1, 0
	for k, w := range words {
		if len(w) > bestLen && len(p.s)-p.i >= len(w) && strings.EqualFold(p.s[p.i:p.i+len(w)], w) {
			best, bestLen = k, len(w)
		}
	}
	p.i += bestLen
	return best
}

// digits reads between lo and hi digits.
func (p *exactParser) digits(lo, hi int) (int, bool) {
	n, k := 0, 0
	for k < hi && p.i < len(p.s) && isDigit(rune(p.s[p.i])) {
		n = n*10 + int(p.s[p.i]-'0')
		p.i++
		k++
	}
	return n, k >= lo
}

// set records a value, failing when the format gave it differently before.
func set(field *int, v int) error {
	if *field >= 0 && *field != v {
		return errors.New("a part of the date is given twice with different values")
	}
	*field = v
	return nil
}

func (p *exactParser) item(it layoutItem, st dateStyles) error {
	var v int
	var ok bool
	switch it.spec {
	case 0:
		switch {
		case it.gmt:
			if !p.match("GMT") {
				return errNoMatch
			}
			return p.setZone(0)
		case it.quoted:
			for _, r := range it.lit {
				if r == ' ' && st&styleInnerWhite != 0 {
					p.skipSpaces()
				} else if !p.match(string(r)) {
					return errNoMatch
				}
			}
		case it.lit == " " && !strings.HasPrefix(p.s[p.i:], " ") && st&styleTrailingWhite != 0:
			// .NET lets an unmatched space go when trailing white space is
			// allowed, for a designator that may be empty.
		case st&styleInnerWhite != 0 && strings.TrimFunc(it.lit, unicode.IsSpace) == "":
		default:
			if !p.match(it.lit) {
				return errNoMatch
			}
		}
		return nil
	case 'y':
		lo, hi := it.n, it.n
		if it.n == 1 {
			hi = 2
		}
		if v, ok = p.digits(lo, hi); !ok {
			return errNoMatch
		}
		p.twoDigitYear = p.twoDigitYear || it.n <= 2
		return set(&p.year, v)
	case 'M':
		if it.n <= 2 {
			if v, ok = p.digits(it.n, 2); !ok {
				return errNoMatch
			}
		} else {
			names := monthNames[:]
			if it.n == 3 {
				names = abbreviations(monthNames[:])
			}
			if v = p.matchFold(names) + 1; v == 0 {
				return errNoMatch
			}
		}
		return set(&p.month, v)
	case 'd':
		if it.n <= 2 {
			if v, ok = p.digits(it.n, 2); !ok {
				return errNoMatch
			}
			return set(&p.day, v)
		}
		names := dayNames[:]
		if it.n == 3 {
			names = abbreviations(dayNames[:])
		}
		if v = p.matchFold(names); v < 0 {
			return errNoMatch
		}
		return set(&p.weekday, v)
	case 'h', 'H', 'm', 's':
		if v, ok = p.digits(min(it.n, 2), 2); !ok {
			return errNoMatch
		}
		switch it.spec {
		case 'h':
			p.hour12 = true
			return set(&p.hour, v)
		case 'H':
			return set(&p.hour, v)
		case 'm':
			return set(&p.minute, v)
		}
		return set(&p.second, v)
	case 'f', 'F':
		start := p.i
		f, _ := p.digits(0, it.n)
		k := p.i - start
		if it.spec == 'f' && k != it.n {
			return errNoMatch
		}
		for ; k < maxFractionDigits; k++ {
			f *= 10
		}
		if p.frac >= 0 && p.frac != int64(f) {
			return errors.New("fractions of a second are given twice with different values")
		}
		p.frac = int64(f)
		return nil
	case 't':
		mark := 0
		if it.n == 1 {
			switch {
			case p.match(amDesignator[:1]):
				mark = 1
			case p.match(pmDesignator[:1]):
				mark = 2
			}
		} else {
			mark = p.matchFold([]string{amDesignator, pmDesignator}) + 1
		}
		if mark == 0 {
			return errNoMatch
		}
		return set(&p.mark, mark)
	case 'z':
		sign, ok := p.sign()
		if !ok {
			return errNoMatch
		}
		var h, m int
		switch it.n {
		case 1, 2:
			if h, ok = p.digits(it.n, 2); !ok {
				return errNoMatch
			}
		default:
			if h, ok = p.digits(1, 2); !ok {
				return errNoMatch
			}
			p.match(":")
			if m, ok = p.digits(2, 2); !ok {
				return errNoMatch
			}
		}
		return p.setOffset(sign, h, m)
	case 'Z':
		if p.match("Z") || p.matchFold([]string{"GMT"}) == 0 {
			return p.setZone(0)
		}
		return errNoMatch
	case 'K':
		if p.match("Z") {
			return p.setZone(0)
		}
		if sign, ok := p.sign(); ok {
			h, ok := p.digits(1, 2)
			if !ok {
				return errNoMatch
			}
			p.match(":")
			m, ok := p.digits(2, 2)
			if !ok {
				return errNoMatch
			}
			return p.setOffset(sign, h, m)
		}
		return nil
	case ':', '/':
		if !p.match(string(it.spec)) {
			return errNoMatch
		}
	case 'g':
		if p.matchFold([]string{eraName, "AD"}) < 0 {
			return errNoMatch
		}
	}
	return nil
}

func abbreviations(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = n[:3]
	}
	return out
}

func (p *exactParser) sign() (int, bool) {
	switch {
	case p.match("+"):
		return 1, true
	case p.match("-"):
		return -1, true
	}
	return 0, false
}

func (p *exactParser) setOffset(sign, h, m int) error {
	if m > 59 || h*60+m > 14*60 {
		return fmt.Errorf("offset %02d:%02d is out of range (at most 14 hours)", h, m)
	}
	return p.setZone(int64(sign * (h*60 + m)))
}

func (p *exactParser) setZone(minutes int64) error {
	if p.zoned && p.offset != minutes {
		return errors.New("the time zone is given twice with different values")
	}
	p.zoned, p.offset = true, minutes
	return nil
}

// result applies .NET's defaults (a time alone is today; a year alone is
// January 1; a month and day without a year are this year) and checks the
// parts.
func (p *exactParser) result(st dateStyles, now func() time.Time) (int64, error) {
	if p.twoDigitYear && p.year >= 0 {
		if p.year >= 100 {
			return 0, fmt.Errorf("year %d has more than two digits", p.year)
		}
		p.year = fourDigitYear(p.year, 2)
	}
	if p.hour12 {
		if p.hour > 12 {
			return 0, fmt.Errorf("hour %d is out of range for a 12-hour clock", p.hour)
		}
		if p.mark == 2 {
			if p.hour != 12 {
				p.hour += 12
			}
		} else if p.hour == 12 {
			p.hour = 0
		}
	} else if p.mark == 1 && p.hour >= 12 || p.mark == 2 && p.hour >= 0 && p.hour < 12 {
		return 0, fmt.Errorf("hour %d contradicts %s", p.hour, [...]string{"", amDesignator, pmDesignator}[p.mark])
	}
	if p.month < 0 || p.day < 0 {
		var today time.Time
		if p.year < 0 || p.month >= 0 || p.day >= 0 {
			today = now().UTC()
		}
		switch {
		case p.month < 0 && p.day < 0 && p.year < 0 && st&styleNoCurrentDateDefault != 0:
			p.year, p.month, p.day = 1, 1, 1
		case p.month < 0 && p.day < 0 && p.year < 0:
			p.year, p.month, p.day = today.Year(), int(today.Month()), today.Day()
		case p.month < 0 && p.day < 0:
			p.month, p.day = 1, 1
		default:
			if p.year < 0 {
				p.year = today.Year()
			}
			p.month, p.day = max(p.month, 1), max(p.day, 1)
		}
	}
	if p.year < 0 {
		p.year = now().UTC().Year()
	}
	c := civil{year: p.year, month: p.month, day: p.day,
		hour: max(p.hour, 0), minute: max(p.minute, 0), second: max(p.second, 0), frac: max(p.frac, 0)}
	t, err := c.ticks()
	if err != nil {
		return 0, err
	}
	if p.weekday >= 0 && int(weekdayOf(t)) != p.weekday {
		return 0, fmt.Errorf("%s %d, %d is a %s, not a %s", time.Month(c.month), c.day, c.year, weekdayOf(t), dayNames[p.weekday])
	}
	return addTicks(t, -p.offset, ticksPerMinute)
}
