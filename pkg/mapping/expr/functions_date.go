package expr

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Date and time functions. Dates are UTC .NET DateTimes (see datetime.go);
// a date/time Value reads as text in the documented M/d/yyyy h:mm:ss tt.
// Where a date is expected, a string is read as CDate reads it (VB
// converts a Variant the same way), and Null gives Null.

func dateFunctions() []*function {
	return []*function{
		{
			// CDate(expression): the UTC date/time a string represents. Null
			// stays Null; an empty or unreadable string is an error, as
			// .NET's DateTime.Parse throws.
			name:   "CDate",
			params: []param{{name: "expression"}},
			eval: func(x evalCtx, c *call) (Value, error) {
				v, err := x.arg(c, 0)
				if err != nil {
					return Value{}, err
				}
				t, ok, err := toDate(x, v)
				if err != nil || !ok {
					return Value{}, err
				}
				return dateValue(t), nil
			},
		},
		{
			// Now(): the Evaluator's clock, in UTC.
			name: "Now",
			eval: func(x evalCtx, c *call) (Value, error) {
				return DateTime(x.clock()), nil
			},
		},
		{
			// DateAdd(interval, value, dateTime), as VB.NET's DateAdd: value
			// is truncated to a whole number (as VB's Fix) and must fit in 32
			// bits; months and years keep the day when they can and clamp it
			// to the end of a shorter month (January 31 plus "m" 1 is the end
			// of February); y (day of year) and w (weekday) add days, as in
			// VB. A Null value or dateTime gives Null.
			name:    "DateAdd",
			params:  []param{{name: "interval"}, {name: "value"}, {name: "dateTime"}},
			prepare: prepareInterval,
			eval:    evalDateAdd,
		},
		{
			// DateDiff(interval, date1, date2): date2 - date1 in intervals, as
			// VB.NET's DateDiff computes it (Microsoft.VisualBasic is the .NET
			// implementation of these VB functions):
			//   - yyyy, q and m count calendar boundaries crossed: from
			//     December 31 to January 1 is 1 year, 1 quarter and 1 month;
			//   - d, y, h, n and s count whole elapsed units, truncated toward
			//     zero: from 23:00 to 01:00 the next day is 0 days (VBA, which
			//     counts midnights, would say 1);
			//   - w counts whole elapsed weeks;
			//   - ww counts weeks between the Sundays that start the weeks of
			//     the two dates (each keeping its time of day).
			// A Null date gives Null.
			name:    "DateDiff",
			params:  []param{{name: "interval"}, {name: "date1"}, {name: "date2"}},
			prepare: prepareInterval,
			eval:    evalDateDiff,
		},
		{
			// DateFromNum(value): the date/time of an AD file time (100 ns
			// since 1601-01-01 UTC), as .NET's DateTime.FromFileTimeUtc.
			// AD writes 0 and 9223372036854775807 in accountExpires for an
			// account that never expires (and 0 in lastLogonTimestamp for
			// never); both give Null, not .NET's 1601-01-01 or its error.
			name:   "DateFromNum",
			params: []param{{name: "value"}},
			eval: func(x evalCtx, c *call) (Value, error) {
				v, err := x.arg(c, 0)
				if err != nil {
					return Value{}, err
				}
				if v, err = single(v); err != nil || v.kind == KindNull {
					return Value{}, err
				}
				n, ok := toInt(v)
				if !ok {
					return Value{}, fmt.Errorf("value must be a whole number (an AD file time), got %s", v)
				}
				if n == 0 || n == math.MaxInt64 {
					return Value{}, nil
				}
				if n < 0 || n > maxTicks-fileTimeEpoch {
					return Value{}, fmt.Errorf("%d is outside the dates an AD file time can hold (1601 to 9999)", n)
				}
				return dateValue(n + fileTimeEpoch), nil
			},
		},
		{
			// NumFromDate(value): the AD file time of a date/time, or of a
			// string as CDate reads it (the docs ask for ISO 8601), as .NET's
			// DateTime.ToFileTimeUtc. Dates before 1601 are an error.
			name:   "NumFromDate",
			params: []param{{name: "value"}},
			eval: func(x evalCtx, c *call) (Value, error) {
				t, ok, err := dateArg(x, c, 0)
				if err != nil || !ok {
					return Value{}, err
				}
				if t < fileTimeEpoch {
					return Value{}, fmt.Errorf("%s is before 1/1/1601, the earliest AD file time", dateValue(t))
				}
				return Int(t - fileTimeEpoch), nil
			},
		},
		{
			// FormatDateTime in its three documented forms (see forms): the
			// source is read with inputFormat as .NET's DateTime.ParseExact
			// reads it and written with outputFormat as DateTime.ToString
			// writes it (see datetime_format.go). A date/time source (from
			// CDate, Now, DateFromNum) is written as it is, without
			// inputFormat. Null gives Null; a multi-valued source is
			// converted value by value; a value that does not match
			// inputFormat is an error.
			name: "FormatDateTime",
			params: []param{
				{name: "source"}, {name: "dateTimeStyles", optional: true},
				{name: "inputFormat"}, {name: "outputFormat"},
			},
			forms: [][]param{
				{{name: "value"}, {name: "format"}},
				{{name: "source"}, {name: "inputFormat"}, {name: "outputFormat"}},
			},
			prepare: prepareFormatDateTime,
			eval:    evalFormatDateTime,
		},
	}
}

// interval is DateAdd's and DateDiff's unit, as VB's DateInterval.
type interval uint8

const (
	ivYear interval = iota + 1
	ivQuarter
	ivMonth
	ivDayOfYear
	ivDay
	ivWeekday
	ivWeekOfYear
	ivHour
	ivMinute
	ivSecond
)

// intervals are VB's interval strings. The provisioning reference lists
// yyyy, m, d, ww, h, n and s; the Connect Sync reference adds q, y and w.
// Like VB, guestsync compares them case-insensitively.
var intervals = []struct {
	name string
	iv   interval
}{
	{"yyyy", ivYear}, {"q", ivQuarter}, {"m", ivMonth}, {"y", ivDayOfYear}, {"d", ivDay},
	{"w", ivWeekday}, {"ww", ivWeekOfYear}, {"h", ivHour}, {"n", ivMinute}, {"s", ivSecond},
}

func parseInterval(s string) (interval, error) {
	for _, i := range intervals {
		if equalFoldASCII(s, i.name) {
			return i.iv, nil
		}
	}
	return 0, fmt.Errorf("interval %s is not one of yyyy, q, m, y, d, w, ww, h, n, s", QuoteValue(s))
}

// prepareInterval checks a constant interval at Compile time.
func prepareInterval(c *call, errs *errorList) any {
	lit, ok := litArg(c, 0)
	if !ok {
		return interval(0)
	}
	iv, err := parseInterval(lit.v.s)
	if err != nil {
		errs.add(lit.p, c.fn.name+": "+err.Error())
	}
	return iv
}

func intervalArg(x evalCtx, c *call) (interval, error) {
	if iv := c.state.(interval); iv != 0 {
		return iv, nil
	}
	v, err := x.arg(c, 0)
	if err != nil {
		return 0, err
	}
	if v.kind == KindNull {
		return 0, errors.New("interval is Null")
	}
	return parseInterval(text(v))
}

func evalDateAdd(x evalCtx, c *call) (Value, error) {
	iv, err := intervalArg(x, c)
	if err != nil {
		return Value{}, err
	}
	v, err := x.arg(c, 1)
	if err != nil {
		return Value{}, err
	}
	n, ok, err := fixInt32(v)
	if err != nil {
		return Value{}, fmt.Errorf("value %w", err)
	}
	t, tok, err := dateArg(x, c, 2)
	if err != nil || !ok || !tok {
		return Value{}, err
	}
	switch iv {
	case ivYear:
		t, err = addMonths(t, n*12)
	case ivQuarter:
		t, err = addMonths(t, n*3)
	case ivMonth:
		t, err = addMonths(t, n)
	case ivDay, ivDayOfYear, ivWeekday:
		t, err = addTicks(t, n, ticksPerDay)
	case ivWeekOfYear:
		t, err = addTicks(t, n*7, ticksPerDay)
	case ivHour:
		t, err = addTicks(t, n, ticksPerHour)
	case ivMinute:
		t, err = addTicks(t, n, ticksPerMinute)
	case ivSecond:
		t, err = addTicks(t, n, ticksPerSecond)
	}
	if err != nil {
		return Value{}, err
	}
	return dateValue(t), nil
}

// fixInt32 converts v as VB's CInt(Fix(Number)) does for DateAdd: a
// number, truncated toward zero, that fits in 32 bits. ok is false for Null.
func fixInt32(v Value) (n int64, ok bool, err error) {
	if v, err = single(v); err != nil {
		return 0, false, err
	}
	if v.kind == KindNull {
		return 0, false, nil
	}
	n, ok = toInt(v)
	if !ok && v.kind == KindString {
		f, ferr := strconv.ParseFloat(strings.TrimSpace(v.s), 64)
		if ferr == nil && !math.IsNaN(f) && !math.IsInf(f, 0) && math.Abs(f) < 1<<62 {
			n, ok = int64(math.Trunc(f)), true
		}
	}
	if !ok {
		return 0, false, fmt.Errorf("must be a number, got %s", v)
	}
	if n < math.MinInt32 || n > math.MaxInt32 {
		return 0, false, fmt.Errorf("%d is out of range (a 32-bit whole number)", n)
	}
	return n, true, nil
}

func evalDateDiff(x evalCtx, c *call) (Value, error) {
	iv, err := intervalArg(x, c)
	if err != nil {
		return Value{}, err
	}
	t1, ok1, err := dateArg(x, c, 1)
	if err != nil {
		return Value{}, err
	}
	t2, ok2, err := dateArg(x, c, 2)
	if err != nil || !ok1 || !ok2 {
		return Value{}, err
	}
	d1, d2 := civilOf(t1), civilOf(t2)
	var n int64
	switch iv {
	case ivYear:
		n = int64(d2.year - d1.year)
	case ivQuarter:
		n = int64((d2.year-d1.year)*4 + (d2.month-1)/3 - (d1.month-1)/3)
	case ivMonth:
		n = int64((d2.year-d1.year)*12 + d2.month - d1.month)
	case ivDay, ivDayOfYear:
		n = (t2 - t1) / ticksPerDay
	case ivWeekday:
		n = (t2 - t1) / ticksPerDay / 7
	case ivWeekOfYear:
		s1 := t1 - int64(weekdayOf(t1))*ticksPerDay
		s2 := t2 - int64(weekdayOf(t2))*ticksPerDay
		n = (s2 - s1) / ticksPerDay / 7
	case ivHour:
		n = (t2 - t1) / ticksPerHour
	case ivMinute:
		n = (t2 - t1) / ticksPerMinute
	case ivSecond:
		n = (t2 - t1) / ticksPerSecond
	}
	return Int(n), nil
}

// formatDateState is what Compile works out for a FormatDateTime call:
// the argument positions of its form, and the formats and styles when
// they are constants.
type formatDateState struct {
	styles, in, out int // argument positions; -1 when the form has none
	inLayout        layout
	outLayout       layout
	dateStyles      dateStyles
	constStyles     bool
}

func formatDatePositions(n int) *formatDateState {
	switch n {
	case 2:
		return &formatDateState{styles: -1, in: -1, out: 1}
	case 3:
		return &formatDateState{styles: -1, in: 1, out: 2}
	}
	return &formatDateState{styles: 1, in: 2, out: 3}
}

func prepareFormatDateTime(c *call, errs *errorList) any {
	st := formatDatePositions(len(c.args))
	if st.styles < 0 || !given(c, st.styles) {
		st.dateStyles, st.constStyles = defaultDateStyles, true
	} else if lit, ok := litArg(c, st.styles); ok {
		ds, err := parseDateStyles(lit.v.s)
		if err != nil {
			errs.add(lit.p, "FormatDateTime: dateTimeStyles: "+err.Error())
		}
		st.dateStyles, st.constStyles = ds, true
	}
	compileArg := func(i int, name string) layout {
		if i < 0 {
			return nil
		}
		lit, ok := litArg(c, i)
		if !ok {
			return nil
		}
		l, err := compileLayout(lit.v.s)
		if err != nil {
			errs.add(lit.p, "FormatDateTime: "+name+": "+err.Error())
		}
		return l
	}
	st.inLayout = compileArg(st.in, "inputFormat")
	st.outLayout = compileArg(st.out, c.fn.paramOf(len(c.args), st.out).name)
	return st
}

func evalFormatDateTime(x evalCtx, c *call) (Value, error) {
	st := c.state.(*formatDateState)
	src, err := x.arg(c, 0)
	if err != nil || src.kind == KindNull {
		return Value{}, err
	}
	layoutArg := func(i int, l layout) (layout, string, error) {
		name := c.fn.paramOf(len(c.args), i).name
		if l != nil {
			return l, c.args[i].(*strLit).v.s, nil
		}
		v, err := x.arg(c, i)
		if err != nil {
			return nil, "", err
		}
		if v.kind == KindNull {
			return nil, "", fmt.Errorf("%s is Null", name)
		}
		l, err = compileLayout(text(v))
		if err != nil {
			return nil, "", fmt.Errorf("%s: %w", name, err)
		}
		return l, text(v), nil
	}
	out, _, err := layoutArg(st.out, st.outLayout)
	if err != nil {
		return Value{}, err
	}
	if src.kind == KindDateTime {
		return String(out.format(src.n)), nil
	}
	read := func(s string) (int64, error) { return parseDate(s, x.clock) }
	if st.in >= 0 {
		in, inText, err := layoutArg(st.in, st.inLayout)
		if err != nil {
			return Value{}, err
		}
		styles := st.dateStyles
		if !st.constStyles {
			v, err := x.arg(c, st.styles)
			if err != nil {
				return Value{}, err
			}
			if styles, err = parseDateStyles(text(v)); err != nil {
				return Value{}, fmt.Errorf("dateTimeStyles: %w", err)
			}
		}
		read = func(s string) (int64, error) {
			t, err := in.parse(s, styles, x.clock)
			switch {
			case err == errNoMatch:
				return 0, fmt.Errorf("%s does not match inputFormat %s", QuoteValue(s), QuoteValue(inText))
			case err != nil:
				return 0, fmt.Errorf("%s read with inputFormat %s: %w", QuoteValue(s), QuoteValue(inText), err)
			}
			return t, nil
		}
	}
	return mapTextErr(x, src, func(s string) (string, error) {
		t, err := read(s)
		if err != nil {
			return "", err
		}
		return out.format(t), nil
	})
}
