package ber

// guestsync patch: the patched readPacket must decode every input exactly
// as v1.5.8 did (same tree, values and primitive bytes) and fail where it
// failed. referenceReadPacket below is v1.5.8's code, kept to compare.

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"reflect"
	"testing"
	"unicode/utf8"
)

func FuzzPatchedMatchesReference(f *testing.F) {
	for _, tc := range testCases {
		data, err := os.ReadFile(tc.File)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	for _, seed := range patchSeeds() {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		comparePatched(t, data)
	})
}

func TestPatchedMatchesReference(t *testing.T) {
	for i, data := range patchSeeds() {
		t.Run(fmt.Sprint(i), func(t *testing.T) { comparePatched(t, data) })
	}
}

// patchSeeds are LDAP-shaped messages: a SearchResultEntry with short and
// long-form (0x84, as Active Directory writes them) lengths, nested sets,
// an empty value and a truncated copy.
func patchSeeds() [][]byte {
	attr := func(name string, vals ...string) *Packet {
		a := Encode(ClassUniversal, TypeConstructed, TagSequence, nil, "attr")
		a.AppendChild(NewString(ClassUniversal, TypePrimitive, TagOctetString, name, "type"))
		set := Encode(ClassUniversal, TypeConstructed, TagSet, nil, "vals")
		for _, v := range vals {
			set.AppendChild(NewString(ClassUniversal, TypePrimitive, TagOctetString, v, "val"))
		}
		a.AppendChild(set)
		return a
	}
	msg := Encode(ClassUniversal, TypeConstructed, TagSequence, nil, "LDAP message")
	msg.AppendChild(NewInteger(ClassUniversal, TypePrimitive, TagInteger, 7, "id"))
	entry := Encode(ClassApplication, TypeConstructed, 4, nil, "SearchResultEntry")
	entry.AppendChild(NewString(ClassUniversal, TypePrimitive, TagOctetString, "uid=zoë,ou=Partners,dc=example,dc=test", "dn"))
	attrs := Encode(ClassUniversal, TypeConstructed, TagSequence, nil, "attrs")
	attrs.AppendChild(attr("cn", "Zoë Müller"))
	attrs.AppendChild(attr("objectGUID", "\x00\xff\x10binary"))
	attrs.AppendChild(attr("mail", "a@example.test", "b@example.test", ""))
	entry.AppendChild(attrs)
	msg.AppendChild(entry)
	short := msg.Bytes()
	long := longForm(short)
	return [][]byte{short, long, short[:len(short)-3], long[:len(long)/2], {0x30, 0x00}, {0x04, 0x00}}
}

// longForm re-encodes every length in data as 0x84 and four bytes.
func longForm(data []byte) []byte {
	p, err := DecodePacketErr(data)
	if err != nil {
		panic(err)
	}
	var enc func(p *Packet) []byte
	enc = func(p *Packet) []byte {
		var content []byte
		if p.TagType == TypeConstructed {
			for _, c := range p.Children {
				content = append(content, enc(c)...)
			}
		} else {
			content = p.ByteValue
		}
		n := len(content)
		out := append(encodeIdentifier(p.Identifier), 0x84, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
		return append(out, content...)
	}
	return enc(p)
}

func comparePatched(t *testing.T, data []byte) {
	want, _, wantErr := referenceReadPacket(bytes.NewBuffer(data), 0)
	for name, decode := range map[string]func() (*Packet, error){
		"DecodePacketErr": func() (*Packet, error) { return DecodePacketErr(data) },
		"ReadPacket":      func() (*Packet, error) { return ReadPacket(bytes.NewReader(data)) },
	} {
		got, err := decode()
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("%s: error %v, reference %v", name, err, wantErr)
		}
		if err == nil {
			if d := diffPackets(got, want, "root"); d != "" {
				t.Fatalf("%s: %s", name, d)
			}
		}
	}
}

// sameValue is reflect.DeepEqual, except that NaN equals NaN.
func sameValue(a, b interface{}) bool {
	fa, ok1 := a.(float64)
	fb, ok2 := b.(float64)
	if ok1 && ok2 && math.IsNaN(fa) && math.IsNaN(fb) {
		return true
	}
	return reflect.DeepEqual(a, b)
}

func diffPackets(got, want *Packet, path string) string {
	switch {
	case got.Identifier != want.Identifier:
		return fmt.Sprintf("%s: identifier %+v, want %+v", path, got.Identifier, want.Identifier)
	case !sameValue(got.Value, want.Value):
		return fmt.Sprintf("%s: value %#v, want %#v", path, got.Value, want.Value)
	case !bytes.Equal(got.ByteValue, want.ByteValue) || (got.ByteValue == nil) != (want.ByteValue == nil):
		return fmt.Sprintf("%s: byte value %x, want %x", path, got.ByteValue, want.ByteValue)
	case got.Data == nil:
		return path + ": no Data"
	case len(got.Children) != len(want.Children):
		return fmt.Sprintf("%s: %d children, want %d", path, len(got.Children), len(want.Children))
	}
	// Data: the content as received; v1.5.8 re-encoded constructed
	// content, which is the same bytes when lengths were minimal.
	if len(got.Children) == 0 && !bytes.Equal(got.Data.Bytes(), want.Data.Bytes()) {
		return fmt.Sprintf("%s: data %x, want %x", path, got.Data.Bytes(), want.Data.Bytes())
	}
	for i := range got.Children {
		if d := diffPackets(got.Children[i], want.Children[i], fmt.Sprintf("%s/%d", path, i)); d != "" {
			return d
		}
	}
	return ""
}

// referenceReadPacket is go-asn1-ber v1.5.8's readPacket, unpatched. It reads a single Packet from the reader, returning the number of bytes read.
func referenceReadPacket(reader io.Reader, depth int) (*Packet, int, error) {
	if MaxNestingDepth > 0 && depth >= MaxNestingDepth {
		return nil, 0, fmt.Errorf("nesting depth %d exceeds maximum %d", depth, MaxNestingDepth)
	}

	identifier, length, read, err := readHeader(reader)
	if err != nil {
		return nil, read, err
	}

	if length != LengthIndefinite && MaxPacketLengthBytes > 0 && int64(length) > MaxPacketLengthBytes {
		return nil, read, fmt.Errorf("length %d greater than maximum %d", length, MaxPacketLengthBytes)
	}

	p := &Packet{
		Identifier: identifier,
	}

	p.Data = new(bytes.Buffer)
	p.Children = make([]*Packet, 0, 2)
	p.Value = nil

	if p.TagType == TypeConstructed {
		// TODO: if universal, ensure tag type is allowed to be constructed

		// Track how much content we've read
		contentRead := 0
		for {
			if length != LengthIndefinite {
				// End if we've read what we've been told to
				if contentRead == length {
					break
				}
				// Detect if a packet boundary didn't fall on the expected length
				if contentRead > length {
					return nil, read, fmt.Errorf("expected to read %d bytes, read %d", length, contentRead)
				}
			}

			// Read the next packet
			child, r, err := referenceReadPacket(reader, depth+1)
			if err != nil {
				return nil, read, unexpectedEOF(err)
			}
			contentRead += r
			read += r

			// Enforce the aggregate size limit for constructed packets. Indefinite length declares
			// no bound up front, so the content bytes are only known as they are read.
			if MaxPacketLengthBytes > 0 && int64(contentRead) > MaxPacketLengthBytes {
				return nil, read, fmt.Errorf("length %d greater than maximum %d", contentRead, MaxPacketLengthBytes)
			}

			// Test is this is the EOC marker for our packet
			if isEOCPacket(child) {
				if length == LengthIndefinite {
					break
				}
				return nil, read, errors.New("eoc child not allowed with definite length")
			}

			// Append and continue
			p.AppendChild(child)
		}
		return p, read, nil
	}

	if length == LengthIndefinite {
		return nil, read, errors.New("indefinite length used with primitive type")
	}

	var content []byte
	if length > 0 {
		// Read the content and limit it to the parsed length.
		// If the content is less than the length, we return an EOF error.
		content, err = io.ReadAll(io.LimitReader(reader, int64(length)))
		if err == nil && len(content) < int(length) {
			err = io.EOF
		}
		if err != nil {
			return nil, read, unexpectedEOF(err)
		}
		read += len(content)
	} else {
		// If length == 0, we set the ByteValue to an empty slice
		content = make([]byte, 0)
	}

	if p.ClassType == ClassUniversal {
		p.Data.Write(content)
		p.ByteValue = content

		switch p.Tag {
		case TagEOC:
		case TagBoolean:
			val, _ := ParseInt64(content)

			p.Value = val != 0
		case TagInteger:
			p.Value, _ = ParseInt64(content)
		case TagBitString:
		case TagOctetString:
			// the actual string encoding is not known here
			// (e.g. for LDAP content is already an UTF8-encoded
			// string). Return the data without further processing
			p.Value = DecodeString(content)
		case TagNULL:
		case TagObjectIdentifier:
			oid, err := parseObjectIdentifier(content)
			if err == nil {
				p.Value = OIDToString(oid)
			}
		case TagObjectDescriptor:
		case TagExternal:
		case TagRealFloat:
			p.Value, err = ParseReal(content)
		case TagEnumerated:
			p.Value, _ = ParseInt64(content)
		case TagEmbeddedPDV:
		case TagUTF8String:
			val := DecodeString(content)
			if !utf8.Valid([]byte(val)) {
				err = errors.New("invalid UTF-8 string")
			} else {
				p.Value = val
			}
		case TagRelativeOID:
			oid, err := parseRelativeObjectIdentifier(content)
			if err == nil {
				p.Value = OIDToString(oid)
			}
		case TagSequence:
		case TagSet:
		case TagNumericString:
		case TagPrintableString:
			val := DecodeString(content)
			if err = isPrintableString(val); err == nil {
				p.Value = val
			}
		case TagT61String:
		case TagVideotexString:
		case TagIA5String:
			val := DecodeString(content)
			for i, c := range val {
				if c >= 0x7F {
					err = fmt.Errorf("invalid character for IA5String at pos %d: %c", i, c)
					break
				}
			}
			if err == nil {
				p.Value = val
			}
		case TagUTCTime:
		case TagGeneralizedTime:
			p.Value, err = ParseGeneralizedTime(content)
		case TagGraphicString:
		case TagVisibleString:
		case TagGeneralString:
		case TagUniversalString:
		case TagCharacterString:
		case TagBMPString:
		}
	} else {
		p.Data.Write(content)
	}

	return p, read, err
}
