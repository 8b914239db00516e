package expr

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// String functions. Character counts and positions are in runes, where
// .NET counts UTF-16 code units; the two differ only for characters outside
// the Basic Multilingual Plane (emoji), where .NET would split a character.

func textFunctions() []*function {
	return []*function{
		{
			name:   "Append",
			params: []param{{name: "source"}, {name: "suffix"}},
			eval: func(x evalCtx, c *call) (Value, error) {
				src, suffix, err := args2(x, c)
				if err != nil {
					return Value{}, err
				}
				return appendValues(x, src, suffix)
			},
		},
		{
			// Join(separator, source1, ...): multi-valued sources contribute
			// every value; Null and empty values are skipped (Microsoft's
			// example Join(", ", "", [surname], [givenName]) gives "Doe, John").
			name:   "Join",
			params: []param{{name: "separator"}, {name: "source"}},
			repeat: 1,
			eval: func(x evalCtx, c *call) (Value, error) {
				sep, err := x.arg(c, 0)
				if err != nil {
					return Value{}, err
				}
				s := text(sep)
				var buf [8]string
				parts := buf[:0]
				n := 0 // the length of the result so far
				add := func(v string) error {
					if v == "" {
						return nil
					}
					if len(parts) > 0 {
						n += len(s)
					}
					parts = append(parts, v)
					n += len(v)
					return x.fits(textSize(n))
				}
				for i := 1; i < len(c.args); i++ {
					v, err := x.arg(c, i)
					if err != nil {
						return Value{}, err
					}
					if v.kind == KindMulti {
						for _, v := range v.mv {
							if err := add(v); err != nil {
								return Value{}, err
							}
						}
					} else if err := add(text(v)); err != nil {
						return Value{}, err
					}
				}
				switch len(parts) {
				case 0:
					return String(""), nil
				case 1:
					return String(parts[0]), nil
				}
				var b strings.Builder
				b.Grow(n)
				for i, p := range parts {
					if i > 0 {
						b.WriteString(s)
					}
					b.WriteString(p)
				}
				return String(b.String()), nil
			},
		},
		{
			// Left(String, NumChars), as documented: 0 gives "", a negative
			// count gives the whole string, Null gives "".
			name:   "Left",
			params: []param{{name: "String"}, {name: "NumChars"}},
			eval: func(x evalCtx, c *call) (Value, error) {
				src, err := x.arg(c, 0)
				if err != nil {
					return Value{}, err
				}
				n, err := intArg(x, c, 1)
				if err != nil {
					return Value{}, err
				}
				return mapTextOrEmpty(x, src, func(s string) string {
					if n < 0 {
						return s
					}
					return s[:runeOffset(s, n)]
				})
			},
		},
		{
			// Mid(source, start, length), 1-based. The cloud sync reference
			// only says a length past the end stops at the end; the rest
			// follows the Connect Sync reference of the same function: length 0
			// gives "", a negative length, start <= 0 or start past the end
			// give the input string, Null gives "". A missing length (VB's
			// two-argument Mid) means the rest of the string.
			name:   "Mid",
			params: []param{{name: "source"}, {name: "start"}, {name: "length", optional: true}},
			eval: func(x evalCtx, c *call) (Value, error) {
				src, err := x.arg(c, 0)
				if err != nil {
					return Value{}, err
				}
				start, err := intArg(x, c, 1)
				if err != nil {
					return Value{}, err
				}
				length := int64(-1) << 62 // rest of the string
				if given(c, 2) {
					if length, err = intArg(x, c, 2); err != nil {
						return Value{}, err
					}
					if length < 0 {
						return mapTextOrEmpty(x, src, func(s string) string { return s })
					}
				}
				return mapTextOrEmpty(x, src, func(s string) string {
					if length == 0 {
						return ""
					}
					if start <= 0 || start > int64(utf8.RuneCountInString(s)) {
						return s
					}
					s = s[runeOffset(s, start-1):]
					if length < 0 {
						return s
					}
					return s[:runeOffset(s, length)]
				})
			},
		},
		{
			// Word(String, WordNumber, Delimiters): words are the non-empty runs
			// between any of the delimiter characters. A number below 1, a Null
			// string or too few words give "".
			name:   "Word",
			params: []param{{name: "String"}, {name: "WordNumber"}, {name: "delimiters"}},
			eval: func(x evalCtx, c *call) (Value, error) {
				src, err := x.arg(c, 0)
				if err != nil {
					return Value{}, err
				}
				n, err := intArg(x, c, 1)
				if err != nil {
					return Value{}, err
				}
				delims, err := x.arg(c, 2)
				if err != nil {
					return Value{}, err
				}
				isDelim := runeSet(text(delims))
				return mapTextOrEmpty(x, src, func(s string) string {
					if n < 1 {
						return ""
					}
					for w := range strings.FieldsFuncSeq(s, isDelim) {
						if n--; n == 0 {
							return w
						}
					}
					return ""
				})
			},
		},
		{
			name: "InStr",
			params: []param{
				{name: "value1"}, {name: "value2"},
				{name: "start", optional: true},
				{name: "compareType", optional: true, enum: []string{"vbBinaryCompare", "vbTextCompare"}},
			},
			eval: evalInStr,
		},
		stringMap("Trim", "value", strings.TrimSpace),
		stringMap("StripSpaces", "source", func(s string) string { return strings.ReplaceAll(s, " ", "") }),
		{
			// ToLower(source, culture): invariant culture unless the culture is
			// Turkish or Azerbaijani, the cultures whose casing differs (dotted
			// and dotless i). Other culture names are accepted and treated as
			// invariant.
			name:   "ToLower",
			params: []param{{name: "source"}, {name: "culture", optional: true}},
			eval:   evalCase(strings.ToLower, func(s string) string { return strings.ToLowerSpecial(unicode.TurkishCase, s) }),
		},
		{
			name:   "ToUpper",
			params: []param{{name: "source"}, {name: "culture", optional: true}},
			eval:   evalCase(strings.ToUpper, func(s string) string { return strings.ToUpperSpecial(unicode.TurkishCase, s) }),
		},
		{
			name:   "PCase",
			params: []param{{name: "source"}, {name: "wordSeparators", optional: true}},
			eval: func(x evalCtx, c *call) (Value, error) {
				src, seps, err := args2(x, c)
				if err != nil {
					return Value{}, err
				}
				s, custom := seps.Text()
				isSep := runeSet(s)
				return mapText(x, src, func(v string) string { return properCase(v, isSep, custom && s != "") })
			},
		},
		{
			// CStr converts numbers and Booleans to strings; strings and
			// references pass through, Null stays Null.
			name:   "CStr",
			params: []param{{name: "value"}},
			eval: func(x evalCtx, c *call) (Value, error) {
				v, err := x.arg(c, 0)
				if err != nil {
					return Value{}, err
				}
				return mapText(x, v, func(s string) string { return s })
			},
		},
		{
			// CRef makes a reference (a DN) from a string; references are
			// strings here, so it passes its argument through. It is not in
			// the provisioning reference, but the cloud sync example
			// DNComponent(CRef([dn]), 1) uses it.
			name:   "CRef",
			params: []param{{name: "value"}},
			passes: true,
			eval: func(x evalCtx, c *call) (Value, error) {
				return x.arg(c, 0)
			},
		},
		stringMap("NormalizeDiacritics", "source", normalizeDiacritics),
	}
}

// stringMap makes a one-argument function applying f to every value.
func stringMap(name, paramName string, f func(string) string) *function {
	return &function{
		name:   name,
		params: []param{{name: paramName}},
		eval: func(x evalCtx, c *call) (Value, error) {
			v, err := x.arg(c, 0)
			if err != nil {
				return Value{}, err
			}
			return mapText(x, v, f)
		},
	}
}

func args2(x evalCtx, c *call) (Value, Value, error) {
	a, err := x.arg(c, 0)
	if err != nil {
		return Value{}, Value{}, err
	}
	b, err := x.arg(c, 1)
	return a, b, err
}

// runeOffset returns the byte offset of rune n of s, or len(s).
func runeOffset(s string, n int64) int {
	for i := range s {
		if n <= 0 {
			return i
		}
		n--
	}
	return len(s)
}

func evalCase(invariant, turkish func(string) string) func(evalCtx, *call) (Value, error) {
	return func(x evalCtx, c *call) (Value, error) {
		src, culture, err := args2(x, c)
		if err != nil {
			return Value{}, err
		}
		f := invariant
		lang, _, _ := strings.Cut(text(culture), "-")
		if equalFoldASCII(lang, "tr") || equalFoldASCII(lang, "az") {
			f = turkish
		}
		return mapText(x, src, f)
	}
}

// evalInStr is InStr(value1, value2, start, compareType): the 1-based
// position of value2 in value1 from start, or 0. As in VB: a Null string
// gives Null, an empty value2 gives start, start below 1 is an error, and
// compareType is vbBinaryCompare (0, the default, case-sensitive) or
// vbTextCompare (1, case-insensitive).
func evalInStr(x evalCtx, c *call) (Value, error) {
	s, sub, err := args2(x, c)
	if err != nil || s.kind == KindNull || sub.kind == KindNull {
		return Value{}, err
	}
	start := int64(1)
	if given(c, 2) {
		if start, err = intArg(x, c, 2); err != nil {
			return Value{}, err
		}
		if start < 1 {
			return Value{}, fmt.Errorf("start must be 1 or more, got %d", start)
		}
	}
	fold := false
	if given(c, 3) {
		ct, err := x.arg(c, 3)
		if err != nil {
			return Value{}, err
		}
		n, isNum := toInt(ct)
		switch t := text(ct); {
		case equalFoldASCII(t, "vbBinaryCompare"), isNum && n == 0:
		case equalFoldASCII(t, "vbTextCompare"), isNum && n == 1:
			fold = true
		default:
			return Value{}, fmt.Errorf("compareType must be vbBinaryCompare or vbTextCompare, got %s", ct)
		}
	}
	hay, needle := text(s), text(sub)
	if hay == "" || start > int64(utf8.RuneCountInString(hay)) {
		return Int(0), nil
	}
	if needle == "" {
		return Int(start), nil
	}
	// A search in linear time, however long both strings are: case-
	// insensitively, both sides are first mapped to one rune of each
	// case-folding orbit, which keeps positions in runes.
	hay = hay[runeOffset(hay, start-1):]
	if fold {
		hay, needle = strings.Map(foldRune, hay), strings.Map(foldRune, needle)
	}
	i := strings.Index(hay, needle)
	if i < 0 {
		return Int(0), nil
	}
	return Int(start + int64(utf8.RuneCountInString(hay[:i]))), nil
}

// foldRune maps r to the smallest rune of its simple case-folding orbit,
// so that two runes are equal ignoring case exactly when they fold to the
// same rune.
func foldRune(r rune) rune {
	least := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		least = min(least, f)
	}
	return least
}

// properCase implements PCase. The source is lower-cased first, since
// PCase is documented to lower-case every character but the first of each
// word (.NET's ToTitleCase alone would keep "PABLO" as an acronym). With
// custom separators, words are the runs between them. Without, words are
// split as .NET's TextInfo.ToTitleCase does, which the documentation says
// PCase calls: a letter starts a word; letters, digits, marks and
// apostrophes continue it; the Unicode separator, control, punctuation and
// symbol categories end it.
func properCase(s string, isSep func(rune) bool, custom bool) string {
	var b strings.Builder
	b.Grow(len(s))
	inWord := false
	for i := 0; i < len(s); {
		if c := s[i]; !custom && c < utf8.RuneSelf { // the common case, without table lookups
			lower := c | 0x20
			letter := 'a' <= lower && lower <= 'z'
			switch {
			case letter && !inWord:
				c = lower - ('a' - 'A')
				inWord = true
			case letter:
				c = lower
			case inWord && (c == '\'' || '0' <= c && c <= '9'):
			default:
				inWord = false
			}
			b.WriteByte(c)
			i++
			continue
		}
		orig, w := rune(s[i]), 1
		if orig >= utf8.RuneSelf {
			orig, w = utf8.DecodeRuneInString(s[i:])
		}
		i += w
		r := orig
		if 'A' <= r && r <= 'Z' {
			r += 'a' - 'A'
		} else if r >= utf8.RuneSelf {
			r = unicode.ToLower(r)
		}
		switch {
		case custom && isSep(orig):
			inWord = false
		case custom && !inWord:
			r = unicode.ToTitle(r)
			inWord = true
		case custom:
		case inWord && (r == '\'' || !isTitleCaseSeparator(r)):
		case !inWord && unicode.IsLetter(r):
			r = unicode.ToTitle(r)
			inWord = true
		default:
			inWord = false
		}
		if r < utf8.RuneSelf {
			b.WriteByte(byte(r))
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// isTitleCaseSeparator is .NET's TextInfo.IsWordSeparator: the categories
// Zs, Zl, Zp, Cc, Cf, Pc, Pd, Ps, Pe, Pi, Pf, Po, Sm, Sc, Sk and So.
func isTitleCaseSeparator(r rune) bool {
	if r < 0x80 { // ASCII: letters and digits continue a word, all else is Cc, Z, P or S
		return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9')
	}
	return unicode.In(r, unicode.Z, unicode.Cc, unicode.Cf, unicode.P, unicode.S)
}

// runeSet returns a test for the characters of s, in constant time per
// character however long s is (the delimiters of Word and the separators
// of PCase may come from an attribute).
func runeSet(s string) func(rune) bool {
	var ascii [utf8.RuneSelf]bool
	var other map[rune]bool
	for _, r := range s {
		if r < utf8.RuneSelf {
			ascii[r] = true
			continue
		}
		if other == nil {
			other = map[rune]bool{}
		}
		other[r] = true
	}
	return func(r rune) bool {
		if r < utf8.RuneSelf {
			return r >= 0 && ascii[r]
		}
		return other[r]
	}
}
