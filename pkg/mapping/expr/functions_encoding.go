package expr

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"
)

// Encodings, identifiers, numbers and directory names.

func encodingFunctions() []*function {
	return []*function{
		// ConvertToBase64 encodes the string as UTF-16LE ("Unicode" in .NET)
		// before base64: "Hello world!" gives "SABlAGwAbABvACAAdwBvAHIAbABkACEA".
		stringMap("ConvertToBase64", "source", func(s string) string {
			return base64.StdEncoding.EncodeToString(utf16LE(s))
		}),
		{
			// ConvertFromBase64(source, Encoding): Unicode (UTF-16LE, the
			// default), ASCII or UTF8. As in .NET, white space in the input is
			// ignored, and undecodable bytes become U+FFFD (or '?' in ASCII).
			name: "ConvertFromBase64",
			params: []param{
				{name: "source"},
				{name: "Encoding", optional: true, enum: []string{"Unicode", "ASCII", "UTF8"}},
			},
			eval: evalConvertFromBase64,
		},
		{
			// Guid returns a random (version 4) GUID in .NET's default format,
			// lower-case with hyphens, from the Evaluator's Rand.
			name: "Guid",
			eval: func(x evalCtx, c *call) (Value, error) {
				var b [16]byte
				if err := x.random(b[:]); err != nil {
					return Value{}, fmt.Errorf("read random bytes: %w", err)
				}
				b[6] = b[6]&0x0f | 0x40
				b[8] = b[8]&0x3f | 0x80
				var out [36]byte
				hex.Encode(out[0:8], b[0:4])
				hex.Encode(out[9:13], b[4:6])
				hex.Encode(out[14:18], b[6:8])
				hex.Encode(out[19:23], b[8:10])
				hex.Encode(out[24:], b[10:])
				out[8], out[13], out[18], out[23] = '-', '-', '-', '-'
				return String(string(out[:])), nil
			},
		},
		{
			// DNComponent(dn, ComponentNumber): the value of the Nth RDN from
			// the left, unescaped ("cn=Joe,ou=..." and 1 give "Joe"). For a
			// multi-valued RDN (cn=a+uid=b) it is the first value. A number out
			// of range gives Null.
			name:   "DNComponent",
			params: []param{{name: "dn"}, {name: "ComponentNumber"}},
			eval: func(x evalCtx, c *call) (Value, error) {
				dn, err := x.arg(c, 0)
				if err != nil {
					return Value{}, err
				}
				n, err := intArg(x, c, 1)
				if err != nil || dn.kind == KindNull {
					return Value{}, err
				}
				if s, ok := dnComponent(text(dn), n); ok {
					return String(s), nil
				}
				return Value{}, nil
			},
		},
		// ConvertToUTF8Hex writes each UTF-8 byte as two upper-case hex
		// digits: "Hello world!" gives "48656C6C6F20776F726C6421".
		stringMap("ConvertToUTF8Hex", "source", func(s string) string {
			return strings.ToUpper(hex.EncodeToString([]byte(s)))
		}),
		{
			// StringFromSID(ObjectSID): a binary security identifier (as
			// objectSid holds it) in its string form, S-1-5-21-..., as .NET's
			// SecurityIdentifier writes it. Each value of a multi-valued
			// attribute (sIDHistory) is converted; Null stays Null; bytes that
			// are not a SID are an error. As in .NET, bytes after the SID are
			// ignored.
			name:   "StringFromSID",
			params: []param{{name: "ObjectSID"}},
			eval: func(x evalCtx, c *call) (Value, error) {
				v, err := x.arg(c, 0)
				if err != nil {
					return Value{}, err
				}
				return mapTextErr(x, v, sidString)
			},
		},
		{
			// BitAnd(value1, value2): a Null operand (an absent
			// userAccountControl) gives Null; a value that is not a number is
			// an error.
			name:   "BitAnd",
			params: []param{{name: "value1"}, {name: "value2"}},
			eval: func(x evalCtx, c *call) (Value, error) {
				a, b, err := args2(x, c)
				if err != nil || a.kind == KindNull || b.kind == KindNull {
					return Value{}, err
				}
				an, aok := toInt(a)
				bn, bok := toInt(b)
				switch {
				case !aok:
					return Value{}, fmt.Errorf("value1 must be a whole number, got %s", a)
				case !bok:
					return Value{}, fmt.Errorf("value2 must be a whole number, got %s", b)
				}
				return Int(an & bn), nil
			},
		},
	}
}

func utf16LE(s string) []byte {
	units := utf16.Encode([]rune(s))
	b := make([]byte, 2*len(units))
	for i, u := range units {
		b[2*i], b[2*i+1] = byte(u), byte(u>>8)
	}
	return b
}

func evalConvertFromBase64(x evalCtx, c *call) (Value, error) {
	src, enc, err := args2(x, c)
	if err != nil || src.kind == KindNull {
		return Value{}, err
	}
	encoding := "Unicode"
	if given(c, 1) {
		switch e := text(enc); {
		case equalFoldASCII(e, "Unicode"), equalFoldASCII(e, "ASCII"), equalFoldASCII(e, "UTF8"):
			encoding = strings.ToUpper(e)
		default:
			return Value{}, fmt.Errorf("Encoding must be Unicode, ASCII or UTF8, got %s", enc)
		}
	}
	if err := x.fits(sizeOf(src)); err != nil { // the result is about as long as the input
		return Value{}, err
	}
	vals := src.Strings()
	out := make([]string, len(vals))
	for i, s := range vals {
		b, err := base64.StdEncoding.DecodeString(strings.Map(dropSpace, s))
		if err != nil {
			return Value{}, fmt.Errorf("invalid base64 %s: %w", QuoteValue(s), err)
		}
		switch encoding {
		case "ASCII":
			for j, ch := range b {
				if ch >= utf8.RuneSelf {
					b[j] = '?'
				}
			}
			out[i] = string(b)
		case "UTF8":
			out[i] = strings.ToValidUTF8(string(b), "\uFFFD")
		default:
			units := make([]uint16, 0, (len(b)+1)/2)
			for j := 0; j+1 < len(b); j += 2 {
				units = append(units, uint16(b[j])|uint16(b[j+1])<<8)
			}
			if len(b)%2 == 1 {
				units = append(units, utf8.RuneError)
			}
			out[i] = string(utf16.Decode(units))
		}
	}
	if src.kind == KindMulti {
		return Multi(out), nil
	}
	return String(out[0]), nil
}

func dropSpace(r rune) rune {
	if unicode.IsSpace(r) {
		return -1
	}
	return r
}

// dnComponent returns the unescaped value of RDN n (1-based) of dn.
func dnComponent(dn string, n int64) (string, bool) {
	if n < 1 {
		return "", false
	}
	start := 0
	for k := int64(1); start <= len(dn); k++ {
		end := dnIndex(dn, start, ",;")
		if k == n {
			rdn := dn[start:end]
			rdn = rdn[:dnIndex(rdn, 0, "+")]
			eq := dnIndex(rdn, 0, "=")
			if eq == len(rdn) {
				return "", false
			}
			return unescapeDNValue(rdn[eq+1:]), true
		}
		start = end + 1
	}
	return "", false
}

// dnIndex returns the index of the first of seps in s from start that is
// neither escaped nor quoted, or len(s).
func dnIndex(s string, start int, seps string) int {
	quoted := false
	for i := start; i < len(s); i++ {
		switch ch := s[i]; {
		case ch == '\\':
			i++
		case ch == '"':
			quoted = !quoted
		case !quoted && strings.IndexByte(seps, ch) >= 0:
			return i
		}
	}
	return len(s)
}

// unescapeDNValue undoes RFC 4514 escaping (\, and \2C), drops quotes and
// trims unescaped spaces around the value.
func unescapeDNValue(v string) string {
	var b []byte
	keep := 0 // length of b up to the last character that is not a plain space
	for i := 0; i < len(v); i++ {
		ch := v[i]
		switch {
		case ch == '\\' && i+2 < len(v) && isHexDigit(rune(v[i+1])) && isHexDigit(rune(v[i+2])):
			h, _ := hex.DecodeString(v[i+1 : i+3])
			b = append(b, h[0])
			i += 2
			keep = len(b)
		case ch == '\\' && i+1 < len(v):
			i++
			b = append(b, v[i])
			keep = len(b)
		case ch == '"':
		case ch == ' ' && len(b) == 0:
		default:
			b = append(b, ch)
			if ch != ' ' {
				keep = len(b)
			}
		}
	}
	return strings.ToValidUTF8(string(b[:keep]), "\uFFFD")
}

// sidString converts a binary SID: a revision (1), a count of
// sub-authorities (at most 15), a 48-bit big-endian identifier authority
// and that many 32-bit little-endian sub-authorities.
func sidString(b string) (string, error) {
	if strings.HasPrefix(b, "S-") || strings.HasPrefix(b, "s-") {
		return "", fmt.Errorf("%s is already a SID string, not the binary form", QuoteValue(b))
	}
	if len(b) < 8 {
		return "", fmt.Errorf("a binary SID has at least 8 bytes, got %d", len(b))
	}
	if b[0] != 1 {
		return "", fmt.Errorf("SID revision %d is not supported (only 1)", b[0])
	}
	n := int(b[1])
	if n > 15 {
		return "", fmt.Errorf("a SID has at most 15 sub-authorities, got %d", n)
	}
	if len(b) < 8+4*n {
		return "", fmt.Errorf("a SID with %d sub-authorities has %d bytes, got %d", n, 8+4*n, len(b))
	}
	var auth uint64
	for i := 2; i < 8; i++ {
		auth = auth<<8 | uint64(b[i])
	}
	var out strings.Builder
	out.WriteString("S-1-")
	if auth < 1<<32 {
		out.WriteString(strconv.FormatUint(auth, 10))
	} else {
		fmt.Fprintf(&out, "0x%012X", auth)
	}
	for i := range n {
		out.WriteByte('-')
		out.WriteString(strconv.FormatUint(uint64(binary.LittleEndian.Uint32([]byte(b[8+4*i:12+4*i]))), 10))
	}
	return out.String(), nil
}
