package expr

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// jan15 is the clock of the date tests: Wednesday 1/15/2025 8:00:00 AM UTC.
var jan15 = time.Date(2025, 1, 15, 8, 0, 0, 0, time.UTC)

func TestDateFunctions(t *testing.T) {
	t.Parallel()
	env := MapEnv{
		"dates":    {"20250115", "20250116"},
		"fileTime": {"133814016000000000"},
		"never":    {"9223372036854775807"},
	}
	tests := []struct {
		name, src string
		want      Value
	}{
		// CDate reads what .NET's DateTime.Parse reads in en-US.
		{"CDate Null", `CDate([missing])`, Null()},
		{"CDate round trip of its own text", `CDate("1/15/2025 8:00:00 AM")`, DateTime(jan15)},
		{"CDate date only", `CDate("2025-01-15")`, usDate("1/15/2025 12:00:00 AM")},
		{"CDate ISO with Z and spaces", `CDate("  2025-01-15T08:00:00Z ")`, DateTime(jan15)},
		{"CDate slashes year first", `CDate("2025/1/15 8:00")`, DateTime(jan15)},
		{"CDate month first dashes", `CDate("01-15-2025 08:00")`, DateTime(jan15)},
		{"CDate two-digit year 25", `CDate("1/15/25 8:00 AM")`, DateTime(jan15)},
		{"CDate two-digit year 50", `CDate("1/15/50")`, usDate("1/15/1950 12:00:00 AM")},
		{"CDate day month name", `CDate("15 January 2025 08:00")`, DateTime(jan15)},
		{"CDate month name first", `CDate("jan 15, 2025 8:00 pm")`, usDate("1/15/2025 8:00:00 PM")},
		{"CDate RFC 1123", `CDate("Wed, 15 Jan 2025 08:00:00 GMT")`, DateTime(jan15)},
		{"CDate offset without colon", `CDate("2025-01-15 13:30 +0530")`, DateTime(jan15)},
		{"CDate midnight", `CDate("2025-01-15 12:00 AM")`, usDate("1/15/2025 12:00:00 AM")},
		{"CDate noon", `CDate("2025-01-15 12:00 PM")`, usDate("1/15/2025 12:00:00 PM")},
		{"CDate time only is today", `CDate("08:30")`, usDate("1/15/2025 8:30:00 AM")},
		{"CDate LDAP generalized time", `CDate("20250115080000.0Z")`, DateTime(jan15)},
		{"CDate LDAP generalized time with offset", `CDate("20250115090000+0100")`, DateTime(jan15)},
		{"CDate of a date/time", `CDate(Now())`, DateTime(jan15)},
		{"CDate fraction", `FormatDateTime(CDate("2025-01-15T08:00:00.123456789+01:00"), "o")`, String("2025-01-15T07:00:00.1234567Z")},
		// DateAdd as VB.NET.
		{"DateAdd month end clamps", `DateAdd("m", 1, CDate("2025-01-31"))`, usDate("2/28/2025 12:00:00 AM")},
		{"DateAdd leap day plus a year", `DateAdd("yyyy", 1, CDate("2024-02-29"))`, usDate("2/28/2025 12:00:00 AM")},
		{"DateAdd quarter", `DateAdd("q", 1, CDate("2025-01-31"))`, usDate("4/30/2025 12:00:00 AM")},
		{"DateAdd negative months across years", `DateAdd("m", -13, Now())`, usDate("12/15/2023 8:00:00 AM")},
		{"DateAdd interval case-insensitive", `DateAdd("YYYY", -1, Now())`, usDate("1/15/2024 8:00:00 AM")},
		{"DateAdd w adds days", `DateAdd("w", 1, Now())`, usDate("1/16/2025 8:00:00 AM")},
		{"DateAdd y adds days", `DateAdd("y", 1, Now())`, usDate("1/16/2025 8:00:00 AM")},
		{"DateAdd hours", `DateAdd("h", 25, Now())`, usDate("1/16/2025 9:00:00 AM")},
		{"DateAdd minutes", `DateAdd("n", -30, Now())`, usDate("1/15/2025 7:30:00 AM")},
		{"DateAdd seconds", `DateAdd("s", 59, Now())`, usDate("1/15/2025 8:00:59 AM")},
		{"DateAdd string date", `DateAdd("d", 1, "2025-01-15")`, usDate("1/16/2025 12:00:00 AM")},
		{"DateAdd fractional value truncates", `DateAdd("d", "-1.9", Now())`, usDate("1/14/2025 8:00:00 AM")},
		{"DateAdd computed interval", `DateAdd(Join("", "w", "w"), 1, Now())`, usDate("1/22/2025 8:00:00 AM")},
		{"DateAdd Null date", `DateAdd("d", 1, [missing])`, Null()},
		{"DateAdd Null value", `DateAdd("d", [missing], Now())`, Null()},
		// DateDiff as VB.NET: calendar boundaries for yyyy, q and m,
		// elapsed whole units for the rest.
		{"DateDiff yyyy crosses New Year", `DateDiff("yyyy", CDate("2024-12-31 23:59:59"), CDate("2025-01-01"))`, Int(1)},
		{"DateDiff q crosses New Year", `DateDiff("q", CDate("2024-12-31 23:59:59"), CDate("2025-01-01"))`, Int(1)},
		{"DateDiff m crosses New Year", `DateDiff("m", CDate("2024-12-31 23:59:59"), CDate("2025-01-01"))`, Int(1)},
		{"DateDiff d is elapsed days", `DateDiff("d", CDate("2024-12-31 23:59:59"), CDate("2025-01-01"))`, Int(0)},
		{"DateDiff s", `DateDiff("s", CDate("2024-12-31 23:59:59"), CDate("2025-01-01"))`, Int(1)},
		{"DateDiff d overnight", `DateDiff("d", CDate("2025-01-01 23:00"), CDate("2025-01-02 01:00"))`, Int(0)},
		{"DateDiff d negative truncates toward zero", `DateDiff("d", CDate("2025-01-02 01:00"), CDate("2025-01-01"))`, Int(-1)},
		{"DateDiff q within a quarter", `DateDiff("q", CDate("2025-01-01"), CDate("2025-03-31"))`, Int(0)},
		{"DateDiff q next quarter", `DateDiff("q", CDate("2025-03-31"), CDate("2025-04-01"))`, Int(1)},
		{"DateDiff ww Saturday to Sunday", `DateDiff("ww", CDate("2025-01-18"), CDate("2025-01-19"))`, Int(1)},
		{"DateDiff w Saturday to Sunday", `DateDiff("w", CDate("2025-01-18"), CDate("2025-01-19"))`, Int(0)},
		{"DateDiff w two weeks", `DateDiff("w", Now(), DateAdd("d", 14, Now()))`, Int(2)},
		{"DateDiff y is days", `DateDiff("y", Now(), DateAdd("d", 40, Now()))`, Int(40)},
		{"DateDiff strings", `DateDiff("n", "2025-01-15 08:00", "2025-01-15 09:30")`, Int(90)},
		{"DateDiff Null", `DateDiff("h", Now(), [missing])`, Null()},
		// AD file times.
		{"DateFromNum string", `DateFromNum([fileTime])`, DateTime(jan15)},
		{"DateFromNum 0 is never", `DateFromNum(0)`, Null()},
		{"DateFromNum max is never", `DateFromNum([never])`, Null()},
		{"DateFromNum 1", `FormatDateTime(DateFromNum(1), "yyyy-MM-dd HH:mm:ss.fffffff")`, String("1601-01-01 00:00:00.0000001")},
		{"DateFromNum Null", `DateFromNum([missing])`, Null()},
		{"NumFromDate ISO string", `NumFromDate("2025-01-15T08:00:00Z")`, Int(133814016000000000)},
		{"NumFromDate Now", `NumFromDate(Now())`, Int(133814016000000000)},
		{"NumFromDate first file time", `NumFromDate("1601-01-01")`, Int(0)},
		{"NumFromDate Null", `NumFromDate([missing])`, Null()},
		// FormatDateTime writing.
		{"format o", `FormatDateTime(Now(), "o")`, String("2025-01-15T08:00:00.0000000Z")},
		{"format u", `FormatDateTime(Now(), "u")`, String("2025-01-15 08:00:00Z")},
		{"format s", `FormatDateTime(Now(), "s")`, String("2025-01-15T08:00:00")},
		{"format R", `FormatDateTime(Now(), "R")`, String("Wed, 15 Jan 2025 08:00:00 GMT")},
		{"format d", `FormatDateTime(Now(), "d")`, String("1/15/2025")},
		{"format D", `FormatDateTime(Now(), "D")`, String("Wednesday, January 15, 2025")},
		{"format f", `FormatDateTime(Now(), "f")`, String("Wednesday, January 15, 2025 8:00 AM")},
		{"format g", `FormatDateTime(Now(), "g")`, String("1/15/2025 8:00 AM")},
		{"format G", `FormatDateTime(Now(), "G")`, String("1/15/2025 8:00:00 AM")},
		{"format empty is G", `FormatDateTime(Now(), "")`, String("1/15/2025 8:00:00 AM")},
		{"format t", `FormatDateTime(Now(), "t")`, String("8:00 AM")},
		{"format T", `FormatDateTime(Now(), "T")`, String("8:00:00 AM")},
		{"format M", `FormatDateTime(Now(), "M")`, String("January 15")},
		{"format Y", `FormatDateTime(Now(), "Y")`, String("January 2025")},
		{"format custom names and zone", `FormatDateTime(Now(), "dddd dd MMM yy h:mm tt z zz zzz K g")`,
			String("Wednesday 15 Jan 25 8:00 AM +0 +00 +00:00 Z A.D.")},
		{"format % for one specifier", `FormatDateTime(Now(), "%d")`, String("15")},
		{"format %h", `FormatDateTime(Now(), "%h")`, String("8")},
		{"format %t", `FormatDateTime(Now(), "%t")`, String("A")},
		{"format quoted", `FormatDateTime(Now(), "'Day' d \"of\" MMMM")`, String("Day 15 of January")},
		{"format backslash", `FormatDateTime(Now(), "HH\\hmm")`, String("08h00")},
		{"format quote with backslash inside", `FormatDateTime(Now(), "'it\\'s' yyyy")`, String("it's 2025")},
		{"format Z is a literal when writing", `FormatDateTime(Now(), "HHmmssZ")`, String("080000Z")},
		{"format F trims zeros", `FormatDateTime(CDate("2025-01-15T08:00:00.5Z"), "HH:mm:ss.FFF")`, String("08:00:00.5")},
		{"format F drops the dot", `FormatDateTime(Now(), "HH:mm:ss.FFF")`, String("08:00:00")},
		{"format f", `FormatDateTime(CDate("2025-01-15T08:00:00.1239Z"), "ss.fff ss.f")`, String("00.123 00.1")},
		{"format 12-hour midnight", `FormatDateTime(CDate("2025-01-15 00:30"), "h:mm tt, hh:mm t")`, String("12:30 AM, 12:30 A")},
		{"format 24-hour", `FormatDateTime(CDate("2025-01-15 15:04:05"), "H HH hh m mm s ss")`, String("15 15 03 4 04 5 05")},
		{"format years", `FormatDateTime(CDate("0005-01-01"), "y yy yyy yyyy yyyyy")`, String("5 05 005 0005 00005")},
		{"format non-ASCII literal", `FormatDateTime(Now(), "yyyy年M月d日")`, String("2025年1月15日")},
		// FormatDateTime reading.
		{"read day first", `FormatDateTime("15.01.2025", , "dd.MM.yyyy", "yyyy-MM-dd")`, String("2025-01-15")},
		{"read K offset", `FormatDateTime("2025-01-15T23:30:00+02:00", , "yyyy-MM-ddTHH:mm:ssK", "yyyy-MM-dd HH:mm")`, String("2025-01-15 21:30")},
		{"read K nothing", `FormatDateTime("2025-01-15T23:30:00", , "yyyy-MM-ddTHH:mm:ssK", "yyyy-MM-dd HH:mm")`, String("2025-01-15 23:30")},
		{"read zzz converts to UTC", `FormatDateTime("2020-12-31+08:00", , "yyyy-MM-ddzzz", "yyyy-MM-dd")`, String("2020-12-30")},
		{"read z", `FormatDateTime("2020-12-31 10 -8", , "yyyy-MM-dd HH z", "HH")`, String("18")},
		{"read optional .FFF absent", `FormatDateTime("20150123105347Z", , "yyyyMMddHHmmss.FFFZ", "HH:mm:ss")`, String("10:53:47")},
		{"read optional .FFF present", `FormatDateTime("20150123105347.25Z", , "yyyyMMddHHmmss.FFFZ", "ss.ff")`, String("47.25")},
		{"read Z as GMT", `FormatDateTime("2015-01-23 10:53 GMT", , "yyyy-MM-dd HH:mm Z", "HH")`, String("10")},
		{"read GMT literal", `FormatDateTime("Fri, 23 Jan 2015 10:53:47 GMT", , "R", "o")`, String("2015-01-23T10:53:47.0000000Z")},
		{"read month name any case", `FormatDateTime("15 jan 2025", , "d MMM yyyy", "yyyy-MM-dd")`, String("2025-01-15")},
		{"read full month name", `FormatDateTime("September 9, 2025", , "MMMM d, yyyy", "d")`, String("9/9/2025")},
		{"read day name", `FormatDateTime("Wednesday, 15 January 2025", , "dddd, d MMMM yyyy", "d")`, String("1/15/2025")},
		{"read pm", `FormatDateTime("1/15/2025 08:00:00 pm", , "M/d/yyyy hh:mm:ss tt", "HH:mm")`, String("20:00")},
		{"read 12 AM", `FormatDateTime("1/15/2025 12:30 AM", , "M/d/yyyy h:mm tt", "HH:mm")`, String("00:30")},
		{"read h without tt is AM", `FormatDateTime("12:30", , "hh:mm", "HH:mm")`, String("00:30")},
		{"read time only is today", `FormatDateTime("08:30", , "HH:mm", "yyyy-MM-dd HH:mm")`, String("2025-01-15 08:30")},
		{"read NoCurrentDateDefault", `FormatDateTime("08:30", "NoCurrentDateDefault", "HH:mm", "yyyy-MM-dd HH:mm")`, String("0001-01-01 08:30")},
		{"read year only is January 1", `FormatDateTime("2025", , "yyyy", "yyyy-MM-dd")`, String("2025-01-01")},
		{"read month and day is this year", `FormatDateTime("03-07", , "MM-dd", "yyyy-MM-dd")`, String("2025-03-07")},
		{"read two-digit year 49", `FormatDateTime("1/15/49", , "M/d/yy", "yyyy")`, String("2049")},
		{"read two-digit year 50", `FormatDateTime("1/15/50", , "M/d/yy", "yyyy")`, String("1950")},
		{"read default trims spaces", `FormatDateTime("  2025-01-15  ", , "yyyy-MM-dd", "d")`, String("1/15/2025")},
		{"read AllowWhiteSpaces", `FormatDateTime(" 2025 - 01 -15 ", "DateTimeStyles.AllowWhiteSpaces", "yyyy-MM-dd", "d")`, String("1/15/2025")},
		{"read styles by number and |", `FormatDateTime(" 2025", "1|128", "yyyy", "yyyy")`, String("2025")},
		{"read multi-valued", `FormatDateTime([dates], , "yyyyMMdd", "yyyy-MM-dd")`, Multi([]string{"2025-01-15", "2025-01-16"})},
		{"read Null", `FormatDateTime([missing], , "yyyyMMdd", "yyyy-MM-dd")`, Null()},
		{"read computed formats", `FormatDateTime("2025-01-15", , Join("", "yyyy-MM", "-dd"), Join("", "dd", "/MM"))`, String("15/01")},
		{"read computed styles", `FormatDateTime("2025-01-15", Join("", "None"), "yyyy-MM-dd", "d")`, String("1/15/2025")},
		{"date/time source ignores inputFormat", `FormatDateTime(Now(), , "yyyyMMdd", "yyyy")`, String("2025")},
		{"Connect Sync form reads a string as CDate", `FormatDateTime("2025-01-15T08:00:00Z", "yyyy")`, String("2025")},
		{"cloud sync form", `FormatDateTime("15/01/2025", "dd/MM/yyyy", "yyyy-MM-dd")`, String("2025-01-15")},
		// Now.
		{"Now", `Now()`, DateTime(jan15)},
		{"Now as text", `Join("", Now())`, String("1/15/2025 8:00:00 AM")},
		{"dates compare", `CDate("2025-01-16") > Now()`, Bool(true)},
	}
	ev := Evaluator{Now: func() time.Time { return jan15.In(time.FixedZone("CET", 3600)) }}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e, err := Compile(tt.src)
			require.NoError(t, err)
			got, err := ev.Eval(e, env)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got, "%s: got %s", tt.src, got)
		})
	}
}

func TestDateErrors(t *testing.T) {
	t.Parallel()
	env := MapEnv{"multi": {"2025-01-15", "2025-01-16"}}
	tests := []struct{ src, want string }{
		{`CDate("")`, `CDate: cannot convert "" to a date/time: the string is empty`},
		{`CDate("2025-02-30")`, `CDate: cannot convert "2025-02-30" to a date/time: February 2025 has no day 30`},
		{`CDate("2025-13-01")`, `CDate: cannot convert "2025-13-01" to a date/time: month 13 is out of range`},
		{`CDate("not a date")`, `CDate: cannot convert "not a date" to a date/time: not a recognised date/time`},
		{`CDate("2025-01-15 25:00")`, `CDate: cannot convert "2025-01-15 25:00" to a date/time: hour 25 is out of range`},
		{`CDate("13:00 PM")`, `CDate: cannot convert "13:00 PM" to a date/time: hour 13 is out of range with PM`},
		{`CDate("Thu, 15 Jan 2025")`, `CDate: cannot convert "Thu, 15 Jan 2025" to a date/time: January 15, 2025 is a Wednesday, not a Thursday`},
		{`CDate("2025-01-15+15:00")`, `CDate: cannot convert "2025-01-15+15:00" to a date/time: offset +15:00 is out of range (at most 14 hours)`},
		{`CDate("2025-01-15 08:00 trailing")`, `CDate: cannot convert "2025-01-15 08:00 trailing" to a date/time: not a recognised date/time`},
		{`CDate("0001-01-01+01:00")`, `CDate: cannot convert "0001-01-01+01:00" to a date/time: the result is outside the years 1 to 9999`},
		{`CDate(12)`, `CDate: cannot convert 12 to a date/time`},
		{`CDate([multi])`, `CDate: expected a single value, got 2 values`},
		{`DateAdd("yyyy", 8000, Now())`, `DateAdd: the result is outside the years 1 to 9999`},
		{`DateAdd("d", -1, CDate("0001-01-01"))`, `DateAdd: the result is outside the years 1 to 9999`},
		{`DateAdd("h", 2147483647, Now())`, `DateAdd: the result is outside the years 1 to 9999`},
		{`DateAdd("d", 3000000000, Now())`, `DateAdd: value 3000000000 is out of range (a 32-bit whole number)`},
		{`DateAdd("d", "abc", Now())`, `DateAdd: value must be a number, got "abc"`},
		{`DateAdd(Join("", "x"), 1, Now())`, `DateAdd: interval "x" is not one of yyyy, q, m, y, d, w, ww, h, n, s`},
		{`DateAdd([missing], 1, Now())`, `DateAdd: interval is Null`},
		{`DateAdd("d", 1, "someday")`, `DateAdd: dateTime: cannot convert "someday" to a date/time: not a recognised date/time`},
		{`DateDiff("d", "x", Now())`, `DateDiff: date1: cannot convert "x" to a date/time: not a recognised date/time`},
		{`DateFromNum(-1)`, `DateFromNum: -1 is outside the dates an AD file time can hold (1601 to 9999)`},
		{`DateFromNum("soon")`, `DateFromNum: value must be a whole number (an AD file time), got "soon"`},
		{`NumFromDate(CDate("1600-12-31"))`, `NumFromDate: 12/31/1600 12:00:00 AM is before 1/1/1601, the earliest AD file time`},
		{`FormatDateTime("2015-01-23", , "yyyyMMddHHmmss.fZ", "yyyy-MM-dd")`,
			`FormatDateTime: "2015-01-23" does not match inputFormat "yyyyMMddHHmmss.fZ"`},
		{`FormatDateTime("", , "yyyy", "yyyy")`, `FormatDateTime: "" does not match inputFormat "yyyy"`},
		{`FormatDateTime("  2025", "None", "yyyy", "yyyy")`, `FormatDateTime: "  2025" does not match inputFormat "yyyy"`},
		{`FormatDateTime("2025-1-15", , "yyyy-MM-dd", "d")`, `FormatDateTime: "2025-1-15" does not match inputFormat "yyyy-MM-dd"`},
		{`FormatDateTime("20250230", , "yyyyMMdd", "d")`,
			`FormatDateTime: "20250230" read with inputFormat "yyyyMMdd": February 2025 has no day 30`},
		{`FormatDateTime("03:00 PM", , "HH:mm tt", "t")`, `FormatDateTime: "03:00 PM" read with inputFormat "HH:mm tt": hour 3 contradicts PM`},
		{`FormatDateTime("2025-01-15 13", , "yyyy-MM-dd hh", "t")`,
			`FormatDateTime: "2025-01-15 13" read with inputFormat "yyyy-MM-dd hh": hour 13 is out of range for a 12-hour clock`},
		{`FormatDateTime("Thursday 2025-01-15", , "dddd yyyy-MM-dd", "d")`,
			`FormatDateTime: "Thursday 2025-01-15" read with inputFormat "dddd yyyy-MM-dd": January 15, 2025 is a Wednesday, not a Thursday`},
		{`FormatDateTime("100/1/1", , "yy/M/d", "d")`, `FormatDateTime: "100/1/1" does not match inputFormat "yy/M/d"`},
		{`FormatDateTime("15 16", , "dd d", "d")`, `FormatDateTime: "15 16" read with inputFormat "dd d": a part of the date is given twice with different values`},
		{`FormatDateTime("x", , Join("", "%"), "d")`, `FormatDateTime: inputFormat: "%" is not a standard date/time format`},
		{`FormatDateTime("x", , "yyyy", [missing])`, `FormatDateTime: outputFormat is Null`},
		{`FormatDateTime("2025", Join("", "Bad"), "yyyy", "d")`, `FormatDateTime: dateTimeStyles: "Bad" is not a DateTimeStyles value (such as AllowWhiteSpaces or AssumeUniversal)`},
		{`FormatDateTime(Now(), Join("", "x"))`, `FormatDateTime: format: "x" is not a standard date/time format`},
		{`FormatDateTime(Now(), Join("", "h"))`, `FormatDateTime: format: "h" is not a standard date/time format; write %h for the custom specifier`},
		{`FormatDateTime(Now(), Join("", "yyyy%"))`, `FormatDateTime: format: "yyyy%": % must be followed by one specifier`},
	}
	ev := Evaluator{Now: func() time.Time { return jan15 }}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			t.Parallel()
			_, err := ev.Eval(MustCompile(tt.src), env)
			var e *Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, tt.want, e.Msg)
			assert.Equal(t, Pos{1, 1}, Pos{e.Line, e.Col})
		})
	}
}

// TestDateFormatRoundTrip writes and reads back dates with every custom
// specifier that can be read.
func TestDateFormatRoundTrip(t *testing.T) {
	t.Parallel()
	formats := []string{
		"yyyy-MM-ddTHH:mm:ss.fffffffK", "dddd, MMMM d, yyyy h:mm:ss.FFFFFFF tt", "ddd dd MMM yyyy HH:mm:ss zzz",
		"yyyyMMddHHmmss.fffffffZ", "M/d/yyyy h:mm:ss tt", "o", "r", "s", "u", "G", "F",
	}
	times := []time.Time{
		time.Date(2025, 1, 15, 8, 0, 0, 0, time.UTC),
		time.Date(1999, 12, 31, 23, 59, 59, 999999900, time.UTC),
		time.Date(2024, 2, 29, 12, 0, 0, 100, time.UTC),
		time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999999900, time.UTC),
	}
	for _, f := range formats {
		l, err := compileLayout(f)
		require.NoError(t, err, f)
		for _, tm := range times {
			ticks := DateTime(tm).n
			s := l.format(ticks)
			back, err := l.parse(s, defaultDateStyles, func() time.Time { return jan15 })
			require.NoError(t, err, "%s: %s", f, s)
			want := ticks
			if !hasFraction(l) {
				want -= ticks % ticksPerSecond
			}
			assert.Equal(t, want, back, "%s: %s", f, s)
		}
	}
}

func hasFraction(l layout) bool {
	for _, it := range l {
		if it.spec == 'f' || it.spec == 'F' {
			return true
		}
	}
	return false
}

// TestCDateReadsItsOwnText: every date/time Value's text reads back as the
// same value (to the second), so dates survive a trip through a string.
func TestCDateReadsItsOwnText(t *testing.T) {
	t.Parallel()
	for _, tm := range []time.Time{jan15, time.Date(2000, 2, 29, 23, 59, 59, 0, time.UTC), time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)} {
		s, _ := DateTime(tm).Text()
		got, err := parseDate(s, time.Now)
		require.NoError(t, err, s)
		assert.Equal(t, DateTime(tm).n, got, s)
	}
}
