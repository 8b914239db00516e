package expr

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
)

// Date/times are .NET DateTime values: ticks of 100 ns since 0001-01-01,
// from 0001-01-01 to 9999-12-31, always UTC. The provisioning service runs
// in UTC, so .NET's local time is UTC there too: an input without an
// offset is taken as UTC, and one with an offset is converted to UTC.

const (
	ticksPerSecond = 10_000_000
	ticksPerMinute = 60 * ticksPerSecond
	ticksPerHour   = 60 * ticksPerMinute
	ticksPerDay    = 24 * ticksPerHour
	// maxTicks is DateTime.MaxValue, 9999-12-31 23:59:59.9999999.
	maxTicks = 3155378975999999999
	// fileTimeEpoch is 1601-01-01, where AD's file times (accountExpires,
	// pwdLastSet, lastLogonTimestamp) count from, in ticks.
	fileTimeEpoch = 504911232000000000
)

var errDateRange = errors.New("the result is outside the years 1 to 9999")

func dateValue(ticks int64) Value { return Value{kind: KindDateTime, n: ticks} }

// civil is a broken-down date/time.
type civil struct {
	year, month, day     int
	hour, minute, second int
	frac                 int64 // ticks within the second
}

func civilOf(ticks int64) civil {
	t := dateValue(ticks).time()
	y, m, d := t.Date()
	return civil{y, int(m), d, t.Hour(), t.Minute(), t.Second(), ticks % ticksPerSecond}
}

func weekdayOf(ticks int64) time.Weekday {
	return time.Weekday((ticks/ticksPerDay + 1) % 7) // 0001-01-01 was a Monday
}

func isLeap(y int) bool { return y%4 == 0 && (y%100 != 0 || y%400 == 0) }

func daysIn(y, m int) int {
	switch m {
	case 2:
		if isLeap(y) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// ticks converts c to ticks, reporting what is out of range.
func (c civil) ticks() (int64, error) {
	switch {
	case c.year < 1 || c.year > 9999:
		return 0, fmt.Errorf("year %d is out of range", c.year)
	case c.month < 1 || c.month > 12:
		return 0, fmt.Errorf("month %d is out of range", c.month)
	case c.day < 1 || c.day > daysIn(c.year, c.month):
		return 0, fmt.Errorf("%s %d has no day %d", time.Month(c.month), c.year, c.day)
	case c.hour < 0 || c.hour > 23:
		return 0, fmt.Errorf("hour %d is out of range", c.hour)
	case c.minute < 0 || c.minute > 59:
		return 0, fmt.Errorf("minute %d is out of range", c.minute)
	case c.second < 0 || c.second > 59:
		return 0, fmt.Errorf("second %d is out of range", c.second)
	}
	t := time.Date(c.year, time.Month(c.month), c.day, c.hour, c.minute, c.second, 0, time.UTC)
	return DateTime(t).n + c.frac, nil
}

// addTicks adds n units of unit ticks to t, failing outside DateTime's range.
func addTicks(t, n, unit int64) (int64, error) {
	if n > maxTicks/unit || n < -maxTicks/unit {
		return 0, errDateRange
	}
	r := t + n*unit
	if r < 0 || r > maxTicks {
		return 0, errDateRange
	}
	return r, nil
}

// addMonths is .NET's GregorianCalendar.AddMonths: the day is clamped to
// the end of a shorter month (January 31 plus one month is February 28 or
// 29), and the time of day is kept.
func addMonths(t, months int64) (int64, error) {
	if months < -120000 || months > 120000 {
		return 0, errDateRange
	}
	c := civilOf(t)
	i := int64(c.month-1) + months
	y := int64(c.year) + i/12
	m := i % 12
	if m < 0 {
		m += 12
		y--
	}
	if y < 1 || y > 9999 {
		return 0, errDateRange
	}
	c.year, c.month = int(y), int(m)+1
	c.day = min(c.day, daysIn(c.year, c.month))
	return c.ticks()
}

// toDate converts v to ticks: a date/time as is, a string as CDate reads
// it. ok is false for Null, which the date functions pass through.
func toDate(x evalCtx, v Value) (ticks int64, ok bool, err error) {
	v, err = single(v)
	if err != nil {
		return 0, false, err
	}
	switch v.kind {
	case KindNull:
		return 0, false, nil
	case KindDateTime:
		return v.n, true, nil
	case KindString:
		t, err := parseDate(v.s, x.clock)
		return t, err == nil, err
	}
	return 0, false, fmt.Errorf("cannot convert %s to a date/time", v)
}

// dateArg evaluates argument i of c as a date/time.
func dateArg(x evalCtx, c *call, i int) (int64, bool, error) {
	v, err := x.arg(c, i)
	if err != nil {
		return 0, false, err
	}
	t, ok, err := toDate(x, v)
	if err != nil {
		return 0, false, fmt.Errorf("%s: %w", c.fn.paramOf(len(c.args), i).name, err)
	}
	return t, ok, nil
}

// parseDate is CDate's reading of a string, after .NET's DateTime.Parse
// with the en-US culture (the culture whose "M/d/yyyy h:mm:ss tt" CDate
// writes). It accepts, with spaces around:
//
//	2021-06-30, 2021/6/30            (year first)
//	6/30/2021, 6/30/21, 6-30-2021   (month first, as in en-US)
//	30 June 2021, June 30, 2021     (English month names, full or abbreviated)
//	Wed, 30 Jun 2021                (a leading day name, which must be right)
//
// then optionally a time: T or spaces, H:mm, H:mm:ss or H:mm:ss.fffffff,
// and AM or PM; then optionally a zone: Z, GMT, UTC, or an offset such as
// -07:00, +0530 or -8 (hours). A time without a date is on today's date (UTC),
// as in .NET. Two-digit years are 1950 to 2049. A value with an offset is
// converted to UTC; one without is taken as UTC.
//
// guestsync also accepts LDAP generalized time (20150123105347.0Z, as
// whenCreated holds it), which .NET does not: directory sources have it.
func parseDate(s string, now func() time.Time) (int64, error) {
	t, err := parseDateText(s, now)
	if err != nil {
		return 0, fmt.Errorf("cannot convert %s to a date/time: %w", QuoteValue(s), err)
	}
	return t, nil
}

type dateScanner struct {
	s string
	i int
}

func (d *dateScanner) more() bool { return d.i < len(d.s) }
func (d *dateScanner) peek() byte {
	if d.i < len(d.s) {
		return d.s[d.i]
	}
	return 0
}

func (d *dateScanner) skipSpaces() bool {
	start := d.i
	for d.i < len(d.s) && (d.s[d.i] == ' ' || d.s[d.i] == '\t') {
		d.i++
	}
	return d.i > start
}

// digits reads up to max digits and returns their value and count.
func (d *dateScanner) digits(max int) (int, int) {
	n, k := 0, 0
	for k < max && d.i < len(d.s) && isDigit(rune(d.s[d.i])) {
		n = n*10 + int(d.s[d.i]-'0')
		d.i++
		k++
	}
	return n, k
}

// word reads a run of ASCII letters.
func (d *dateScanner) word() string {
	start := d.i
	for d.i < len(d.s) && isASCIILetter(d.s[d.i]) {
		d.i++
	}
	return d.s[start:d.i]
}

var (
	monthNames = [...]string{"January", "February", "March", "April", "May", "June",
		"July", "August", "September", "October", "November", "December"}
	dayNames = [...]string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}
)

// lookupName matches w against full names and their three-letter
// abbreviations, case-insensitively; it returns the 0-based index or -1.
func lookupName(w string, names []string) int {
	for i, n := range names {
		if equalFoldASCII(w, n) || len(w) == 3 && equalFoldASCII(w, n[:3]) {
			return i
		}
	}
	return -1
}

var errNotDate = errors.New("not a recognised date/time")

func parseDateText(s string, now func() time.Time) (int64, error) {
	s = strings.TrimFunc(s, unicode.IsSpace)
	if s == "" {
		return 0, errors.New("the string is empty")
	}
	if t, ok, err := parseGeneralizedTime(s); ok {
		return t, err
	}
	d := &dateScanner{s: s}
	c := civil{year: -1}
	weekday := -1
	// A leading day name: "Wed, 30 Jun 2021".
	if isASCIILetter(d.peek()) {
		save := d.i
		if w := lookupName(d.word(), dayNames[:]); w >= 0 {
			weekday = w
			if d.peek() == ',' {
				d.i++
			}
			d.skipSpaces()
		} else {
			d.i = save
		}
	}
	if err := d.date(&c); err != nil {
		return 0, err
	}
	hasDate := c.year >= 0
	if hasDate {
		if d.peek() == 'T' || d.peek() == 't' {
			d.i++
		} else {
			d.skipSpaces()
		}
	}
	hasTime, err := d.time(&c)
	if err != nil {
		return 0, err
	}
	if !hasDate && !hasTime {
		return 0, errNotDate
	}
	d.skipSpaces()
	offset, err := d.zone()
	if err != nil {
		return 0, err
	}
	d.skipSpaces()
	if d.more() {
		return 0, errNotDate
	}
	if !hasDate {
		n := now().UTC()
		c.year, c.month, c.day = n.Year(), int(n.Month()), n.Day()
	}
	t, err := c.ticks()
	if err != nil {
		return 0, err
	}
	if weekday >= 0 && int(weekdayOf(t)) != weekday {
		return 0, fmt.Errorf("%s %d, %d is a %s, not a %s", time.Month(c.month), c.day, c.year, weekdayOf(t), dayNames[weekday])
	}
	return addTicks(t, -offset, ticksPerMinute)
}

// date reads a date into c, or nothing (leaving c.year -1) when the text
// starts with a time.
func (d *dateScanner) date(c *civil) error {
	start := d.i
	if isASCIILetter(d.peek()) { // June 30, 2021
		m := lookupName(d.word(), monthNames[:])
		if m < 0 {
			return errNotDate
		}
		d.skipSpaces()
		day, k := d.digits(2)
		if k == 0 {
			return errNotDate
		}
		if d.peek() == ',' {
			d.i++
		}
		d.skipSpaces()
		y, k := d.digits(4)
		if k != 4 && k != 2 {
			return errNotDate
		}
		c.year, c.month, c.day = fourDigitYear(y, k), m+1, day
		return nil
	}
	n1, k1 := d.digits(4)
	if k1 == 0 {
		return errNotDate
	}
	sep := d.peek()
	switch {
	case k1 == 4 && (sep == '-' || sep == '/' || sep == '.'): // 2021-06-30
		d.i++
		m, k := d.digits(2)
		if k == 0 || d.peek() != sep {
			return errNotDate
		}
		d.i++
		day, k := d.digits(2)
		if k == 0 {
			return errNotDate
		}
		c.year, c.month, c.day = n1, m, day
	case k1 <= 2 && (sep == '/' || sep == '-'): // 6/30/2021
		d.i++
		day, k := d.digits(2)
		if k == 0 || d.peek() != sep {
			return errNotDate
		}
		d.i++
		y, k := d.digits(4)
		if k != 4 && (k != 2 || sep != '/') {
			return errNotDate
		}
		c.year, c.month, c.day = fourDigitYear(y, k), n1, day
	case k1 <= 2 && sep == ' ': // 30 June 2021
		d.skipSpaces()
		m := lookupName(d.word(), monthNames[:])
		if m < 0 {
			return errNotDate
		}
		d.skipSpaces()
		y, k := d.digits(4)
		if k != 4 && k != 2 {
			return errNotDate
		}
		c.year, c.month, c.day = fourDigitYear(y, k), m+1, n1
	case k1 <= 2 && sep == ':': // a time only
		d.i = start
	default:
		return errNotDate
	}
	return nil
}

// fourDigitYear reads a two-digit year as 1950 to 2049, the window of
// Windows and VB.
func fourDigitYear(y, digits int) int {
	if digits != 2 {
		return y
	}
	if y < 50 {
		return 2000 + y
	}
	return 1900 + y
}

// time reads H:mm[:ss[.fffffff]] [AM|PM] into c.
func (d *dateScanner) time(c *civil) (bool, error) {
	if !isDigit(rune(d.peek())) {
		return false, nil
	}
	save := d.i
	h, k := d.digits(2)
	if d.peek() != ':' {
		d.i = save
		return false, nil
	}
	d.i++
	m, k2 := d.digits(2)
	if k == 0 || k2 != 2 {
		return false, errNotDate
	}
	c.hour, c.minute = h, m
	if d.peek() == ':' {
		d.i++
		sec, k := d.digits(2)
		if k != 2 {
			return false, errNotDate
		}
		c.second = sec
		if d.peek() == '.' || d.peek() == ',' {
			d.i++
			f, k := d.digits(7)
			if k == 0 {
				return false, errNotDate
			}
			d.digits(1 << 20) // .NET reads more digits than a tick holds; they are dropped
			for ; k < 7; k++ {
				f *= 10
			}
			c.frac = int64(f)
		}
	}
	save = d.i
	d.skipSpaces()
	switch w := d.word(); {
	case equalFoldASCII(w, "AM"), equalFoldASCII(w, "PM"):
		if c.hour < 1 || c.hour > 12 {
			return false, fmt.Errorf("hour %d is out of range with %s", c.hour, strings.ToUpper(w))
		}
		c.hour %= 12
		if equalFoldASCII(w, "PM") {
			c.hour += 12
		}
	default:
		d.i = save
	}
	return true, nil
}

// zone reads Z, GMT, UTC or an offset, returning minutes east of UTC.
func (d *dateScanner) zone() (int64, error) {
	switch ch := d.peek(); {
	case ch == '+' || ch == '-':
		d.i++
		h, k := d.digits(2)
		if k == 0 {
			return 0, errNotDate
		}
		m := 0
		if d.peek() == ':' {
			d.i++
			if m, k = d.digits(2); k != 2 {
				return 0, errNotDate
			}
		} else if isDigit(rune(d.peek())) {
			if m, k = d.digits(2); k != 2 {
				return 0, errNotDate
			}
		}
		if m > 59 || h*60+m > 14*60 {
			return 0, fmt.Errorf("offset %s is out of range (at most 14 hours)", d.s[strings.LastIndexAny(d.s, "+-"):])
		}
		off := int64(h*60 + m)
		if ch == '-' {
			off = -off
		}
		return off, nil
	case isASCIILetter(ch):
		save := d.i
		switch w := d.word(); {
		case w == "Z", w == "z", equalFoldASCII(w, "GMT"), equalFoldASCII(w, "UTC"):
			return 0, nil
		default:
			d.i = save
		}
	}
	return 0, nil
}

// parseGeneralizedTime reads LDAP generalized time, yyyyMMddHHmm[ss][.f]
// followed by Z or an offset; ok is false if s does not look like one.
func parseGeneralizedTime(s string) (ticks int64, ok bool, err error) {
	if len(s) < 12 {
		return 0, false, nil
	}
	for i := range 12 {
		if !isDigit(rune(s[i])) {
			return 0, false, nil
		}
	}
	d := &dateScanner{s: s}
	var c civil
	c.year, _ = d.digits(4)
	c.month, _ = d.digits(2)
	c.day, _ = d.digits(2)
	c.hour, _ = d.digits(2)
	c.minute, _ = d.digits(2)
	if sec, k := d.digits(2); k == 2 {
		c.second = sec
	} else if k != 0 {
		return 0, false, nil
	}
	if d.peek() == '.' || d.peek() == ',' {
		d.i++
		f, k := d.digits(7)
		if k == 0 {
			return 0, false, nil
		}
		d.digits(1 << 20)
		for ; k < 7; k++ {
			f *= 10
		}
		c.frac = int64(f)
	}
	if d.peek() != 'Z' && d.peek() != '+' && d.peek() != '-' {
		return 0, false, nil
	}
	offset, err := d.zone()
	if err != nil || d.more() {
		return 0, false, nil
	}
	t, err := c.ticks()
	if err != nil {
		return 0, true, err
	}
	t, err = addTicks(t, -offset, ticksPerMinute)
	return t, true, err
}
