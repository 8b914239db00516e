package expr

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// normalizeDiacritics implements NormalizeDiacritics. Microsoft documents
// a table of Latin letters; it is reproduced by taking the canonical
// decomposition (NFD) of each Latin letter, dropping the combining marks
// on Latin letters (ä, ą, ǟ, ḹ, ṻ, İ, and marks written separately as in
// "ā́"), and replacing the letters that do not decompose: æ→ae, ø→oe, œ→oe
// (the table lists ø̄ and œ̄, which decompose to these), ł→l, ı→i, ß→ss and
// their capitals. Other scripts are left as they are, marks included:
// stripping them would change, not normalize, for example Devanagari
// names. Latin letters the table does not list and that do not decompose,
// such as đ or þ, are kept too.
func normalizeDiacritics(s string) string {
	i := 0
	for i < len(s) && s[i] < utf8.RuneSelf {
		i++
	}
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	b.WriteString(s[:i])
	latinBase := i > 0 && isASCIILetter(s[i-1])
	for i < len(s) {
		r, w := utf8.DecodeRuneInString(s[i:])
		switch {
		case r < utf8.RuneSelf:
			b.WriteByte(byte(r))
			latinBase = isASCIILetter(byte(r))
		case unicode.Is(unicode.Mn, r):
			if !latinBase {
				b.WriteRune(r)
			}
		case r >= latinFoldFirst && r < latinFoldFirst+rune(len(latinFold)):
			latinBase = r != '×' && r != '÷'
			b.WriteString(latinFold[r-latinFoldFirst])
		case unicode.Is(unicode.Latin, r):
			latinBase = true
			b.WriteString(undiacritic(r))
		default:
			b.WriteRune(r)
			latinBase = false
		}
		i += w
	}
	return b.String()
}

func isASCIILetter(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// undiacritic returns a Latin letter without its diacritics.
func undiacritic(r rune) string {
	d := norm.NFD.PropertiesString(string(r)).Decomposition()
	if d == nil {
		return replaceUndecomposable(r)
	}
	var b strings.Builder
	for _, dr := range string(d) {
		if !unicode.Is(unicode.Mn, dr) {
			b.WriteString(replaceUndecomposable(dr))
		}
	}
	return b.String()
}

// replaceUndecomposable replaces the letters of the documented table that
// have no decomposition.
func replaceUndecomposable(r rune) string {
	switch r {
	case 'æ':
		return "ae"
	case 'Æ':
		return "AE"
	case 'ø', 'œ':
		return "oe"
	case 'Ø', 'Œ':
		return "OE"
	case 'ł':
		return "l"
	case 'Ł':
		return "L"
	case 'ı':
		return "i"
	case 'ß':
		return "ss"
	}
	return string(r)
}

// latinFold caches undiacritic for Latin-1 Supplement and Latin
// Extended-A, where nearly all European names' letters are. It is built
// once and never modified.
var latinFold = func() []string {
	t := make([]string, 0x180-latinFoldFirst)
	for i := range t {
		r := latinFoldFirst + rune(i)
		if unicode.Is(unicode.Latin, r) {
			t[i] = undiacritic(r)
		} else {
			t[i] = string(r) // ×, ÷
		}
	}
	return t
}()

const latinFoldFirst = 0xC0
