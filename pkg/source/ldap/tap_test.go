package ldap

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
	goldap "github.com/go-ldap/ldap/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/guestsync/guestsync/pkg/source"
)

// The entry tap is tested here against a scripted loopback server, for
// what a real one will not do on demand (malformed messages, stalls,
// dropped connections); so is go-ldap's decoding where the reader must
// behave the same with either (Config.Decoder). The integration tests
// against slapd and Samba read through both.

// decoders are the values of Config.Decoder, for the tests that run with
// each.
func decoders() []string { return []string{DecoderTap, DecoderGoLDAP} }

// attr is an attribute of a scripted entry.
type attr struct {
	name   string
	values []string
}

// encodeMessage encodes an LDAPMessage with id and op, as a server would.
func encodeMessage(id int64, op *ber.Packet) []byte {
	m := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "LDAP Response")
	m.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, id, "MessageID"))
	m.AppendChild(op)
	return m.Bytes()
}

func entryOp(dn string, attrs ...attr) *ber.Packet {
	op := ber.Encode(ber.ClassApplication, ber.TypeConstructed, goldap.ApplicationSearchResultEntry, nil, "Search Result Entry")
	op.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, dn, "DN"))
	list := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "Attributes")
	for _, a := range attrs {
		seq := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "Attribute")
		seq.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, a.name, "Type"))
		set := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSet, nil, "Values")
		for _, v := range a.values {
			set.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, v, "Value"))
		}
		seq.AppendChild(set)
		list.AppendChild(seq)
	}
	op.AppendChild(list)
	return op
}

func resultOp(tag ber.Tag, code int64, message string) *ber.Packet {
	op := ber.Encode(ber.ClassApplication, ber.TypeConstructed, tag, nil, "Result")
	op.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagEnumerated, code, "Result Code"))
	op.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, "", "Matched DN"))
	op.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, message, "Diagnostic Message"))
	return op
}

func referralOp(url string) *ber.Packet {
	op := ber.Encode(ber.ClassApplication, ber.TypeConstructed, goldap.ApplicationSearchResultReference, nil, "Reference")
	op.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, url, "URI"))
	return op
}

// scriptedServer answers every search request on a loopback port with
// what answer writes; it ignores binds, abandons and unbinds.
func scriptedServer(t *testing.T, answer func(id int64, w io.Writer) error) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var wg sync.WaitGroup
	t.Cleanup(func() { l.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				for {
					req, err := ber.ReadPacket(c)
					if err != nil || len(req.Children) < 2 {
						return
					}
					id, _ := req.Children[0].Value.(int64)
					if req.Children[1].Tag != goldap.ApplicationSearchRequest {
						continue
					}
					if err := answer(id, c); err != nil {
						return
					}
				}
			}()
		}
	}()
	return "ldap://" + l.Addr().String()
}

// scriptedEntries are entries that cover what decoding must keep: binary
// values, an attribute sent twice, one with no values, a value larger
// than the tap's read buffer, long-form lengths, and enough entries to
// fill several batches.
func scriptedEntries() [][]attr {
	var entries [][]attr
	for i := range 3*tapBatchSize + 7 {
		entries = append(entries, []attr{
			{"cn", []string{fmt.Sprintf("Partner %d", i)}},
			{"mail", []string{fmt.Sprintf("p%d@partner.example", i)}},
			{"objectGUID", []string{string([]byte{0xff, 0x00, byte(i), 0x80, 0xfe})}},
			{"description", []string{"one", "two", ""}},
		})
	}
	entries[5] = append(entries[5], attr{"description", []string{"three"}}, attr{"memberOf", nil})
	entries[9] = append(entries[9], attr{"jpegPhoto", []string{strings.Repeat("\x01\x02\x03", 3*readBuffer)}})
	return entries
}

func scriptedDN(i int) string { return fmt.Sprintf("cn=Partner %d,ou=Partners,dc=example,dc=test", i) }

func tapConfig(url string) Config {
	return Config{URL: url, BaseDN: "ou=Partners,dc=example,dc=test", NoPaging: true, Timeout: 5 * time.Second}
}

// scriptedConfig is tapConfig read with decoder.
func scriptedConfig(url, decoder string) Config {
	cfg := tapConfig(url)
	cfg.Decoder = decoder
	return cfg
}

// TestDecodersDeliverWhatGoLDAPDecodes reads the same scripted entries
// with each decoder and with go-ldap's Search alone: the entries must be
// identical, and in order.
func TestDecodersDeliverWhatGoLDAPDecodes(t *testing.T) {
	t.Parallel()
	for _, decoder := range decoders() {
		t.Run(decoder, func(t *testing.T) {
			t.Parallel()
			testDeliversWhatGoLDAPDecodes(t, decoder)
		})
	}
}

func testDeliversWhatGoLDAPDecodes(t *testing.T, decoder string) {
	entries := scriptedEntries()
	url := scriptedServer(t, func(id int64, w io.Writer) error {
		var buf bytes.Buffer
		for i, attrs := range entries {
			buf.Write(encodeMessage(id, entryOp(scriptedDN(i), attrs...)))
		}
		buf.Write(encodeMessage(id, referralOp("ldap://other.example.test/ou=Elsewhere,dc=example,dc=test")))
		buf.Write(encodeMessage(id, resultOp(goldap.ApplicationSearchResultDone, 0, "")))
		_, err := w.Write(buf.Bytes())
		return err
	})

	var logs bytes.Buffer
	r, err := New(scriptedConfig(url, decoder), debugLogger(&logs))
	require.NoError(t, err)
	var tapped []source.Entry
	res, err := r.Read(context.Background(), func(e source.Entry) error {
		tapped = append(tapped, e)
		return nil
	})
	require.NoError(t, err)
	assert.True(t, res.Complete)
	assert.Equal(t, len(entries), res.Entries)
	assert.Contains(t, logs.String(), `msg="ldap referral skipped" referral="ldap://other.example.test/`)

	conn, err := goldap.DialURL(url)
	require.NoError(t, err)
	defer conn.Close()
	plain, err := conn.Search(newSearch("ou=Partners,dc=example,dc=test", goldap.ScopeWholeSubtree, "(objectClass=*)", nil))
	require.NoError(t, err)
	require.Len(t, plain.Entries, len(entries))
	require.Len(t, tapped, len(entries))
	for i, e := range plain.Entries {
		assert.Equal(t, toEntry(e), tapped[i], "entry %d", i)
	}
	// And what the server sent, for a reference that is not go-ldap.
	assert.Equal(t, []string{"one", "two", "", "three"}, tapped[5].Attributes["description"])
	assert.Empty(t, tapped[5].Attributes["memberOf"])
	assert.Equal(t, string([]byte{0xff, 0x00, 7, 0x80, 0xfe}), tapped[7].Attributes["objectGUID"][0])
	assert.Len(t, tapped[9].Attributes["jpegPhoto"][0], 9*readBuffer)
	assert.Equal(t, scriptedDN(len(entries)-1), tapped[len(tapped)-1].DN)
}

// TestTapWatchdogCountsOnlyWaitsForTheServer: entries held in a batch
// and a slow fn do not count towards Timeout; a server silent for longer
// than Timeout fails the read.
func TestTapWatchdogCountsOnlyWaitsForTheServer(t *testing.T) {
	t.Parallel()
	// A second: each wait of the trickle is far enough below it that a
	// loaded machine's scheduling delays (a goroutine woken 100 ms late)
	// do not add up to a timeout.
	const timeout = time.Second
	cases := map[string]struct {
		gaps  []time.Duration // before each entry
		slow  time.Duration   // fn's time for each entry
		wants string          // error, or "" for a complete read
	}{
		// 8 × 150 ms is past Timeout, but no single wait is near it.
		"trickle":      {gaps: repeat(8, 150*time.Millisecond)},
		"slow fn":      {gaps: repeat(2, 0), slow: timeout + 200*time.Millisecond},
		"silent":       {gaps: []time.Duration{0, 0, 2 * timeout}, wants: "no answer from the server for 1s"},
		"silent first": {gaps: []time.Duration{2 * timeout}, wants: "no answer from the server for 1s"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			url := scriptedServer(t, func(id int64, w io.Writer) error {
				for i, gap := range tc.gaps {
					time.Sleep(gap)
					if _, err := w.Write(encodeMessage(id, entryOp(scriptedDN(i), attr{"cn", []string{"x"}}))); err != nil {
						return err
					}
				}
				_, err := w.Write(encodeMessage(id, resultOp(goldap.ApplicationSearchResultDone, 0, "")))
				return err
			})
			cfg := tapConfig(url)
			cfg.Timeout = timeout
			r, err := New(cfg, nil)
			require.NoError(t, err)
			seen := 0
			res, err := r.Read(context.Background(), func(source.Entry) error {
				seen++
				time.Sleep(tc.slow)
				return nil
			})
			if tc.wants == "" {
				require.NoError(t, err)
				assert.True(t, res.Complete)
				assert.Equal(t, len(tc.gaps), seen)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.wants)
			assert.False(t, res.Complete)
		})
	}
}

// TestGoLDAPTimeoutBoundsWholeAnswers: without the tap, Timeout is
// go-ldap's request timeout and bounds each page's whole answer: a slow
// fn does not count, but a server that trickles a page for longer than
// Timeout fails the read, as a silent one does.
func TestGoLDAPTimeoutBoundsWholeAnswers(t *testing.T) {
	t.Parallel()
	const timeout = time.Second
	cases := map[string]struct {
		gaps  []time.Duration // before each entry
		slow  time.Duration   // fn's time for each entry
		wants string          // error, or "" for a complete read
	}{
		"slow fn":      {gaps: repeat(2, 0), slow: timeout + 200*time.Millisecond},
		"trickle":      {gaps: repeat(8, 150*time.Millisecond), wants: "no complete answer from the server within 1s"},
		"silent":       {gaps: []time.Duration{0, 0, 2 * timeout}, wants: "no complete answer from the server within 1s"},
		"silent first": {gaps: []time.Duration{2 * timeout}, wants: "no complete answer from the server within 1s"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			url := scriptedServer(t, func(id int64, w io.Writer) error {
				for i, gap := range tc.gaps {
					time.Sleep(gap)
					if _, err := w.Write(encodeMessage(id, entryOp(scriptedDN(i), attr{"cn", []string{"x"}}))); err != nil {
						return err
					}
				}
				_, err := w.Write(encodeMessage(id, resultOp(goldap.ApplicationSearchResultDone, 0, "")))
				return err
			})
			cfg := scriptedConfig(url, DecoderGoLDAP)
			cfg.Timeout = timeout
			r, err := New(cfg, nil)
			require.NoError(t, err)
			seen := 0
			res, err := r.Read(context.Background(), func(source.Entry) error {
				seen++
				time.Sleep(tc.slow)
				return nil
			})
			if tc.wants == "" {
				require.NoError(t, err)
				assert.True(t, res.Complete)
				assert.Equal(t, len(tc.gaps), seen)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.wants)
			assert.False(t, res.Complete)
			assert.Zero(t, seen, "a page that timed out delivers nothing")
		})
	}
}

func repeat(n int, d time.Duration) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = d
	}
	return out
}

// TestDecodingFailuresAreReadErrors: a malformed entry or a connection
// that drops mid-page fails the read with what happened; the entries
// before it were delivered, and the read is not complete. go-ldap says
// less of what was wrong (goLDAPWants) than the tap.
func TestDecodingFailuresAreReadErrors(t *testing.T) {
	t.Parallel()
	good := func(id int64, i int) []byte {
		return encodeMessage(id, entryOp(scriptedDN(i), attr{"cn", []string{"ok"}}))
	}
	cases := map[string]struct {
		after       func(id int64) []byte // what follows two good entries
		close       bool
		wants       string
		goLDAPWants string
	}{
		"value with the wrong tag": {
			after: func(id int64) []byte {
				b := encodeMessage(id, entryOp("cn=Odd,ou=Partners", attr{"cn", []string{"odd"}}))
				b[len(b)-5] = 0x05 // the value's OCTET STRING tag becomes NULL
				return b
			},
			wants:       `the server sent a malformed search result entry "cn=Odd,ou=Partners": its attribute value: tag 0x05 where 0x04 belongs`,
			goLDAPWants: `ldap: malformed attribute "cn": value is not a string`,
		},
		"DN longer than its entry": {
			after:       func(id int64) []byte { return withDNLength(id, "cn=Long", 0x7f) },
			wants:       "the server sent a malformed search result entry: its DN: truncated",
			goLDAPWants: "unable to read LDAP response packet: unexpected EOF",
		},
		"indefinite length": {
			after:       func(id int64) []byte { return withDNLength(id, "cn=Indefinite", 0x80) },
			wants:       "the server sent a malformed search result entry: its DN: invalid length 0x80",
			goLDAPWants: "unable to read LDAP response packet: indefinite length used with primitive type",
		},
		"absurd length": {
			after: func(id int64) []byte {
				return []byte{0x30, 0x84, 0x80, 0, 0, 0x10, 0x02, 0x01, byte(id), 0x64, 0x84, 0x7f, 0xff, 0xff, 0xff}
			},
			wants:       "the server sent an LDAP message of 2147483664 bytes, more than the limit of 2147483631",
			goLDAPWants: "unable to read LDAP response packet: length 2147483664 greater than maximum 2147483647",
		},
		"not LDAP": {
			after:       func(int64) []byte { return []byte("HTTP/1.1 400 Bad Request\r\n\r\n") },
			wants:       "the server sent something that is not an LDAP message (first byte 0x48)",
			goLDAPWants: "unable to read LDAP response packet: unexpected EOF",
		},
		"dropped connection": {close: true, wants: "search ldap://", goLDAPWants: "search ldap://"},
	}
	for _, decoder := range decoders() {
		for name, tc := range cases {
			wants := tc.wants
			if decoder == DecoderGoLDAP {
				wants = tc.goLDAPWants
			}
			t.Run(decoder+", "+name, func(t *testing.T) {
				t.Parallel()
				url := scriptedServer(t, func(id int64, w io.Writer) error {
					msg := append(good(id, 0), good(id, 1)...)
					if tc.after != nil {
						msg = append(msg, tc.after(id)...)
					}
					if _, err := w.Write(msg); err != nil {
						return err
					}
					if tc.close {
						return io.EOF // the server closes the connection
					}
					time.Sleep(time.Second) // then stays silent: the error must come first
					return io.EOF
				})
				r, err := New(scriptedConfig(url, decoder), nil)
				require.NoError(t, err)
				seen := 0
				res, err := r.Read(context.Background(), func(source.Entry) error { seen++; return nil })
				require.Error(t, err)
				t.Log(err)
				assert.Contains(t, err.Error(), wants)
				assert.Contains(t, err.Error(), "after 2 entries")
				assert.False(t, res.Complete)
				assert.Equal(t, 2, seen)
			})
		}
	}
}

// TestTapTakesOnlyItsSearchsEntries: an entry with another message ID
// (a stale search's, or an unsolicited one) is not the page's; go-ldap
// drops it, as it does without the tap.
func TestTapTakesOnlyItsSearchsEntries(t *testing.T) {
	t.Parallel()
	for _, decoder := range decoders() {
		t.Run(decoder, func(t *testing.T) {
			t.Parallel()
			testTakesOnlyItsSearchsEntries(t, decoder)
		})
	}
}

func testTakesOnlyItsSearchsEntries(t *testing.T, decoder string) {
	url := scriptedServer(t, func(id int64, w io.Writer) error {
		var buf bytes.Buffer
		buf.Write(encodeMessage(id, entryOp(scriptedDN(0), attr{"cn", []string{"mine"}})))
		buf.Write(encodeMessage(id+7, entryOp(scriptedDN(1), attr{"cn", []string{"stale"}})))
		buf.Write(encodeMessage(0, entryOp(scriptedDN(2), attr{"cn", []string{"unsolicited"}})))
		buf.Write(encodeMessage(id, entryOp(scriptedDN(3), attr{"cn", []string{"mine"}})))
		buf.Write(encodeMessage(id, resultOp(goldap.ApplicationSearchResultDone, 0, "")))
		_, err := w.Write(buf.Bytes())
		return err
	})
	r, err := New(scriptedConfig(url, decoder), nil)
	require.NoError(t, err)
	var dns []string
	res, err := r.Read(context.Background(), func(e source.Entry) error { dns = append(dns, e.DN); return nil })
	require.NoError(t, err)
	assert.True(t, res.Complete)
	assert.Equal(t, []string{scriptedDN(0), scriptedDN(3)}, dns)
}

// withDNLength is an entry for dn whose DN claims the length byte b.
func withDNLength(id int64, dn string, b byte) []byte {
	msg := encodeMessage(id, entryOp(dn, attr{"cn", []string{"x"}}))
	msg[bytes.Index(msg, []byte(dn))-1] = b
	return msg
}

// TestStopsOnCallbackError: an error from fn ends the read at once, with
// no entry after it delivered.
func TestStopsOnCallbackError(t *testing.T) {
	t.Parallel()
	for _, decoder := range decoders() {
		t.Run(decoder, func(t *testing.T) {
			t.Parallel()
			testStopsOnCallbackError(t, decoder)
		})
	}
}

func testStopsOnCallbackError(t *testing.T, decoder string) {
	url := scriptedServer(t, func(id int64, w io.Writer) error {
		var buf bytes.Buffer
		for i := range 2 * tapBatchSize {
			buf.Write(encodeMessage(id, entryOp(scriptedDN(i), attr{"cn", []string{"x"}})))
		}
		buf.Write(encodeMessage(id, resultOp(goldap.ApplicationSearchResultDone, 0, "")))
		_, err := w.Write(buf.Bytes())
		return err
	})
	r, err := New(scriptedConfig(url, decoder), nil)
	require.NoError(t, err)
	seen := 0
	_, err = r.Read(context.Background(), func(e source.Entry) error {
		seen++
		if seen == 3 {
			return fmt.Errorf("mapping failed")
		}
		return nil
	})
	require.Error(t, err)
	assert.Equal(t, fmt.Sprintf("entry %q: mapping failed", scriptedDN(2)), err.Error())
	assert.Equal(t, 3, seen)
}

// TestStartTLSRefusedIsExplained: a server that refuses StartTLS fails
// the connection with its result code and message, whoever makes it
// (starttls.go with the tap, go-ldap without).
func TestStartTLSRefusedIsExplained(t *testing.T) {
	t.Parallel()
	for _, decoder := range decoders() {
		t.Run(decoder, func(t *testing.T) {
			t.Parallel()
			testStartTLSRefusedIsExplained(t, decoder)
		})
	}
}

func testStartTLSRefusedIsExplained(t *testing.T, decoder string) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		req, err := ber.ReadPacket(c)
		if err != nil || len(req.Children) < 2 || req.Children[1].Tag != goldap.ApplicationExtendedRequest {
			return
		}
		c.Write(encodeMessage(1, resultOp(goldap.ApplicationExtendedResponse, goldap.LDAPResultProtocolError, "unsupported extended operation"))) //nolint:errcheck // the client reports it
		io.Copy(io.Discard, c)                                                                                                                    //nolint:errcheck // until the client goes
	}()
	cfg := scriptedConfig("ldap://"+l.Addr().String(), decoder)
	cfg.StartTLS = true
	r, err := New(cfg, nil)
	require.NoError(t, err)
	_, err = r.Read(context.Background(), func(source.Entry) error { return nil })
	require.Error(t, err)
	assert.Contains(t, err.Error(), "StartTLS: LDAP Result Code 2 \"Protocol Error\": unsupported extended operation")
}

// FuzzDecodeEntry checks decodeEntry against the BER package go-ldap
// uses: whatever it accepts decodes to the same DN and values, and
// nothing makes it panic.
func FuzzDecodeEntry(f *testing.F) {
	for _, attrs := range scriptedEntries()[:10] {
		if len(attrs) < 6 {
			f.Add(encodeMessage(3, entryOp("cn=Seed,dc=example,dc=test", attrs...)))
		}
	}
	f.Add(encodeMessage(1, entryOp("")))
	f.Fuzz(func(t *testing.T, msg []byte) {
		if len(msg) < 2 || msg[0] != berSequence {
			return
		}
		// The tap hands decodeEntry whole messages.
		hdr, end, err := berElement(string(msg), 0, len(msg), berSequence)
		if err != nil || end != len(msg) {
			return
		}
		got, err := decodeEntry(string(msg), hdr)
		if err != nil {
			return
		}
		// The operation, as BER decodes it (what follows it, the
		// message's controls, decodeEntry does not read).
		_, idEnd, err := berElement(string(msg), hdr, len(msg), berInteger)
		require.NoError(t, err)
		_, opEnd, err := berElement(string(msg), idEnd, len(msg), berSearchResultEntry)
		require.NoError(t, err)
		op, perr := ber.DecodePacketErr(msg[idEnd:opEnd])
		require.NoError(t, perr, "decodeEntry accepted what BER rejects")
		require.Len(t, op.Children, 2)
		assert.Equal(t, op.Children[0].Data.String(), got.DN)
		want := map[string][]string{}
		for _, a := range op.Children[1].Children {
			require.Len(t, a.Children, 2)
			name := a.Children[0].Data.String()
			if _, ok := want[name]; !ok {
				want[name] = []string{}
			}
			for _, v := range a.Children[1].Children {
				want[name] = append(want[name], v.Data.String())
			}
		}
		for name, vals := range got.Attributes {
			if len(vals) == 0 {
				got.Attributes[name] = []string{}
			}
		}
		assert.Equal(t, want, got.Attributes)
	})
}
