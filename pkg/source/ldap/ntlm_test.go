package ldap

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf16"

	ber "github.com/go-asn1-ber/asn1-ber"
	goldap "github.com/go-ldap/ldap/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/md4" //nolint:staticcheck // NTLM is built on MD4 (MS-NLMP 3.3.2)

	"github.com/guestsync/guestsync/pkg/source"
)

// The NTLM bind is tested against a loopback fake of Active Directory's
// Sicily bind (MS-ADTS 5.1.1.1.3) that checks the NTLMv2 response as a
// domain controller does (MS-NLMP 3.3.2): a bind passes only when the
// client proved the password of the account named by the domain and user
// it sent. Samba has no Sicily bind, so the integration tests cannot.

// The one account the fake domain controller knows, by its NetBIOS name
// (DOMAIN\name) or its UPN (name@domain, with an empty domain).
const (
	ntlmTestDomain   = "EXAMPLE"
	ntlmTestUser     = "svc-guestsync"
	ntlmTestUPN      = "svc-guestsync@example.test"
	ntlmTestPassword = "Corr3ct-h0rse-do-not-print"
)

// What Active Directory answers a wrong password with (data 52e).
const adInvalidCredentials = "80090308: LdapErr: DSID-0C090569, comment: AcceptSecurityContext error, data 52e, v4563"

// The authentication choices of a Sicily BindRequest (MS-ADTS 5.1.1.1.3):
// go-ldap's appendTo sends [10] as ber.TagEnumerated and its challenge
// bind [11] as ber.TagEmbeddedPDV.
const (
	sicilyNegotiate ber.Tag = 10
	sicilyResponse  ber.Tag = 11
)

// NTLM negotiate flags (MS-NLMP 2.2.2.5).
const (
	ntlmFlagUnicode           = 1 << 0  // A
	ntlmFlagRequestTarget     = 1 << 2  // C
	ntlmFlagNTLM              = 1 << 9  // H
	ntlmFlagOEMDomainSupplied = 1 << 12 // K
	ntlmFlagAlwaysSign        = 1 << 15 // M
	ntlmFlagTargetTypeDomain  = 1 << 16 // N
	ntlmFlagExtendedSecurity  = 1 << 19 // P
	ntlmFlagTargetInfo        = 1 << 23 // S
	ntlmFlag128               = 1 << 29 // U
	ntlmFlag56                = 1 << 31 // W
)

// sicilyBind is what the fake server parsed from one NTLM bind.
type sicilyBind struct {
	Negotiated   string // the domain the NEGOTIATE message supplied, if any
	Domain, User string // from the AUTHENTICATE message
	Accepted     bool   // a known account, and the response proves its password
	Problem      string // what was malformed; "" when nothing was
}

type sicilyServer struct {
	url      string
	mu       sync.Mutex
	binds    []sicilyBind
	searches int
}

// startSicilyServer serves Sicily NTLM binds on a loopback port, and
// answers a bound connection's searches with two entries.
func startSicilyServer(t *testing.T) *sicilyServer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := &sicilyServer{url: "ldap://" + l.Addr().String()}
	var wg sync.WaitGroup
	t.Cleanup(func() { l.Close(); wg.Wait() })
	wg.Go(func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Go(func() { defer c.Close(); s.serve(c) })
		}
	})
	return s
}

func (s *sicilyServer) seen() ([]sicilyBind, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.binds, s.searches
}

func (s *sicilyServer) serve(c net.Conn) {
	var pending *sicilyBind // a negotiate answered, its response not yet seen
	var serverChallenge, timestamp []byte
	bound := false
	for {
		req, err := ber.ReadPacket(c)
		if err != nil || len(req.Children) < 2 {
			return
		}
		id, _ := req.Children[0].Value.(int64)
		op := req.Children[1]
		var reply *ber.Packet
		switch op.Tag {
		case goldap.ApplicationBindRequest:
			reply, bound = s.bind(op, &pending, &serverChallenge, &timestamp)
		case goldap.ApplicationSearchRequest:
			if !bound {
				_, err := c.Write(encodeMessage(id, resultOp(goldap.ApplicationSearchResultDone, goldap.LDAPResultOperationsError,
					"000004DC: LdapErr: DSID-0C090A5C, comment: In order to perform this operation a successful bind must be completed on the connection., data 0, v4563")))
				if err != nil {
					return
				}
				continue
			}
			s.mu.Lock()
			s.searches++
			s.mu.Unlock()
			var buf bytes.Buffer
			buf.Write(encodeMessage(id, entryOp(scriptedDN(0), attr{"cn", []string{"Partner 0"}})))
			buf.Write(encodeMessage(id, entryOp(scriptedDN(1), attr{"cn", []string{"Partner 1"}})))
			buf.Write(encodeMessage(id, resultOp(goldap.ApplicationSearchResultDone, 0, "")))
			if _, err := c.Write(buf.Bytes()); err != nil {
				return
			}
			continue
		default:
			continue // abandon, unbind
		}
		if _, err := c.Write(encodeMessage(id, reply)); err != nil {
			return
		}
	}
}

// bind answers one leg of a Sicily bind (MS-ADTS 5.1.1.1.3), and says
// whether the connection is now bound.
func (s *sicilyServer) bind(op *ber.Packet, pending **sicilyBind, serverChallenge, timestamp *[]byte) (*ber.Packet, bool) {
	fail := func(b sicilyBind, err error) (*ber.Packet, bool) {
		b.Problem = err.Error()
		s.record(b)
		*pending = nil
		return resultOp(goldap.ApplicationBindResponse, goldap.LDAPResultProtocolError, err.Error()), false
	}
	if len(op.Children) != 3 || op.Children[2].ClassType != ber.ClassContext {
		return fail(sicilyBind{}, errors.New("not a Sicily bind"))
	}
	msg := op.Children[2].Data.Bytes()
	switch tag := op.Children[2].Tag; {
	case tag == sicilyNegotiate:
		// Leg 1: NEGOTIATE in, CHALLENGE out: a SicilyBindResponse with
		// resultCode success and the CHALLENGE in serverCreds, where an
		// RFC 4511 BindResponse has matchedDN.
		domain, err := parseNegotiate(msg)
		if err != nil {
			return fail(sicilyBind{}, err)
		}
		*pending = &sicilyBind{Negotiated: domain}
		*serverChallenge = make([]byte, 8)
		rand.Read(*serverChallenge)                                                                              //nolint:errcheck // never fails
		*timestamp = binary.LittleEndian.AppendUint64(nil, uint64(time.Now().UnixNano()/100+116444736000000000)) // FILETIME
		res := ber.Encode(ber.ClassApplication, ber.TypeConstructed, goldap.ApplicationBindResponse, nil, "Bind Response")
		res.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagEnumerated, 0, "Result Code"))
		res.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString,
			string(challengeMessage(*serverChallenge, *timestamp)), "serverCreds: NTLM CHALLENGE"))
		res.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, "", "Diagnostic Message"))
		return res, false
	case tag == sicilyResponse && *pending != nil:
		// Leg 2: AUTHENTICATE in, success or invalidCredentials out.
		b := **pending
		var err error
		b.Domain, b.User, b.Accepted, err = authenticate(msg, *serverChallenge, *timestamp)
		if err != nil {
			return fail(b, err)
		}
		s.record(b)
		*pending = nil
		if !b.Accepted {
			return resultOp(goldap.ApplicationBindResponse, goldap.LDAPResultInvalidCredentials, adInvalidCredentials), false
		}
		return resultOp(goldap.ApplicationBindResponse, goldap.LDAPResultSuccess, ""), true
	}
	return fail(sicilyBind{}, fmt.Errorf("unexpected Sicily authentication choice [%d]", op.Children[2].Tag))
}

func (s *sicilyServer) record(b sicilyBind) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.binds = append(s.binds, b)
}

// parseNegotiate checks a NEGOTIATE_MESSAGE (MS-NLMP 2.2.1.1) and returns
// the domain it supplies (OEM characters), if any.
func parseNegotiate(msg []byte) (string, error) {
	if err := ntlmHeader(msg, 1, 40); err != nil {
		return "", err
	}
	flags := binary.LittleEndian.Uint32(msg[12:])
	if flags&(ntlmFlagUnicode|ntlmFlagNTLM) != ntlmFlagUnicode|ntlmFlagNTLM {
		return "", fmt.Errorf("NEGOTIATE flags %#x lack UNICODE or NTLM", flags)
	}
	if flags&ntlmFlagOEMDomainSupplied == 0 {
		return "", nil
	}
	domain, err := ntlmField(msg, 16) // DomainNameFields
	return string(domain), err
}

// challengeMessage is a CHALLENGE_MESSAGE (MS-NLMP 2.2.1.2) as Active
// Directory answers go-ntlmssp's NEGOTIATE: NTLMv2 only (no LM_KEY, no
// KEY_EXCH, which go-ntlmssp refuses), the domain as TargetName, and a
// TargetInfo (2.2.2.1) with the NetBIOS names and a timestamp. It has no
// Version field (NEGOTIATE_VERSION is not set), so the payload starts at
// offset 48.
func challengeMessage(serverChallenge, timestamp []byte) []byte {
	const payload = 48
	target := utf16le(ntlmTestDomain)
	var info []byte
	for _, av := range []struct {
		id    uint16
		value []byte
	}{
		{2, target},         // MsvAvNbDomainName
		{1, utf16le("DC1")}, // MsvAvNbComputerName
		{7, timestamp},      // MsvAvTimestamp
		{0, nil},            // MsvAvEOL
	} {
		info = binary.LittleEndian.AppendUint16(info, av.id)
		info = binary.LittleEndian.AppendUint16(info, uint16(len(av.value)))
		info = append(info, av.value...)
	}
	msg := make([]byte, payload)
	copy(msg, "NTLMSSP\x00")
	binary.LittleEndian.PutUint32(msg[8:], 2)
	putNTLMField(msg[12:], len(target), payload) // TargetNameFields
	binary.LittleEndian.PutUint32(msg[20:], ntlmFlagUnicode|ntlmFlagRequestTarget|ntlmFlagNTLM|ntlmFlagAlwaysSign|
		ntlmFlagTargetTypeDomain|ntlmFlagExtendedSecurity|ntlmFlagTargetInfo|ntlmFlag128|ntlmFlag56)
	copy(msg[24:32], serverChallenge)
	putNTLMField(msg[40:], len(info), payload+len(target)) // TargetInfoFields
	return append(append(msg, target...), info...)
}

// authenticate parses an AUTHENTICATE_MESSAGE (MS-NLMP 2.2.1.3) and
// checks its NTLMv2 response as a domain controller does (3.3.2): the
// account is looked up by the domain and user sent, and
//
//	NTOWFv2    = HMAC_MD5(MD4(UNICODE(password)), UNICODE(Uppercase(user) + domain))
//	NTProofStr = HMAC_MD5(NTOWFv2, serverChallenge + blob)
//
// must be the first 16 bytes of NtChallengeResponse, the blob the rest.
func authenticate(msg, serverChallenge, timestamp []byte) (domain, user string, accepted bool, err error) {
	if err := ntlmHeader(msg, 3, 64); err != nil {
		return "", "", false, err
	}
	if binary.LittleEndian.Uint32(msg[60:])&ntlmFlagUnicode == 0 {
		return "", "", false, errors.New("AUTHENTICATE is not UNICODE")
	}
	nt, err1 := ntlmField(msg, 20) // NtChallengeResponseFields
	d, err2 := ntlmField(msg, 28)  // DomainNameFields
	u, err3 := ntlmField(msg, 36)  // UserNameFields
	if err := errors.Join(err1, err2, err3); err != nil {
		return "", "", false, err
	}
	domain, user = fromUTF16le(d), fromUTF16le(u)
	// NTLMv2_RESPONSE (2.2.2.8): NTProofStr, then NTLMv2_CLIENT_CHALLENGE
	// (2.2.2.7): RespType 1, HiRespType 1, 6 reserved bytes, TimeStamp,
	// ChallengeFromClient, 4 reserved bytes, AvPairs.
	if len(nt) < 16+28 || nt[16] != 1 || nt[17] != 1 {
		return domain, user, false, fmt.Errorf("NtChallengeResponse of %d bytes is not NTLMv2", len(nt))
	}
	proof, blob := nt[:16], nt[16:]
	if !bytes.Equal(blob[8:16], timestamp) {
		return domain, user, false, errors.New("the NTLMv2 response does not carry the CHALLENGE's MsvAvTimestamp")
	}
	known := strings.EqualFold(domain, ntlmTestDomain) && strings.EqualFold(user, ntlmTestUser) ||
		domain == "" && strings.EqualFold(user, ntlmTestUPN)
	if !known {
		return domain, user, false, nil
	}
	ntowf := md4.New()
	ntowf.Write(utf16le(ntlmTestPassword))
	ntowfv2 := hmacMD5(ntowf.Sum(nil), utf16le(strings.ToUpper(user)+domain))
	return domain, user, hmac.Equal(proof, hmacMD5(ntowfv2, serverChallenge, blob)), nil
}

// ntlmHeader checks an NTLM message's signature and type (MS-NLMP 2.2.1).
func ntlmHeader(msg []byte, typ uint32, minLen int) error {
	if len(msg) < minLen || !bytes.HasPrefix(msg, []byte("NTLMSSP\x00")) || binary.LittleEndian.Uint32(msg[8:]) != typ {
		return fmt.Errorf("not an NTLM message of type %d: %q", typ, msg)
	}
	return nil
}

// ntlmField reads the payload a Len/MaxLen/BufferOffset field at msg[at:]
// points to.
func ntlmField(msg []byte, at int) ([]byte, error) {
	n, off := int(binary.LittleEndian.Uint16(msg[at:])), int(binary.LittleEndian.Uint32(msg[at+4:]))
	if off+n > len(msg) {
		return nil, fmt.Errorf("NTLM field at %d overruns the message", at)
	}
	return msg[off : off+n], nil
}

func putNTLMField(b []byte, n, off int) {
	binary.LittleEndian.PutUint16(b, uint16(n))
	binary.LittleEndian.PutUint16(b[2:], uint16(n))
	binary.LittleEndian.PutUint32(b[4:], uint32(off))
}

func utf16le(s string) []byte {
	var b []byte
	for _, u := range utf16.Encode([]rune(s)) {
		b = binary.LittleEndian.AppendUint16(b, u)
	}
	return b
}

func fromUTF16le(b []byte) string {
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u))
}

func hmacMD5(key []byte, data ...[]byte) []byte {
	m := hmac.New(md5.New, key)
	for _, d := range data {
		m.Write(d)
	}
	return m.Sum(nil)
}

// TestNTLMBindSendsDomainUserAndPassword binds with each form of account
// name an NTLM bind accepts: the domain controller must see the expected
// domain and user, and accept the password only when it is right; a
// rejected bind names the bind and the server's reason, and neither the
// error nor the debug log holds the password.
func TestNTLMBindSendsDomainUserAndPassword(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		bindDN, ntlmDomain string
		password           string // ntlmTestPassword when empty
		want               sicilyBind
	}{
		"name with ntlmDomain": {
			bindDN: "svc-guestsync", ntlmDomain: "EXAMPLE",
			want: sicilyBind{Negotiated: "EXAMPLE", Domain: "EXAMPLE", User: "svc-guestsync", Accepted: true},
		},
		`DOMAIN\name`: {
			bindDN: `EXAMPLE\svc-guestsync`,
			want:   sicilyBind{Domain: "EXAMPLE", User: "svc-guestsync", Accepted: true},
		},
		// go-ntlmssp upper-cases the NEGOTIATE's domain, not the
		// AUTHENTICATE's; the DC hashes the domain as it was sent.
		`domain\name in lower case, with ntlmDomain`: {
			bindDN: `example\svc-guestsync`, ntlmDomain: "Example",
			want: sicilyBind{Negotiated: "EXAMPLE", Domain: "example", User: "svc-guestsync", Accepted: true},
		},
		"name@domain": {
			bindDN: "svc-guestsync@example.test",
			want:   sicilyBind{User: "svc-guestsync@example.test", Accepted: true},
		},
		// The AUTHENTICATE names the account by its UPN alone: ntlmDomain
		// only reaches the NEGOTIATE.
		"name@domain with ntlmDomain": {
			bindDN: "svc-guestsync@example.test", ntlmDomain: "EXAMPLE",
			want: sicilyBind{Negotiated: "EXAMPLE", User: "svc-guestsync@example.test", Accepted: true},
		},
		"wrong password": {
			bindDN: "svc-guestsync", ntlmDomain: "EXAMPLE", password: "Wr0ng-h0rse-do-not-print",
			want: sicilyBind{Negotiated: "EXAMPLE", Domain: "EXAMPLE", User: "svc-guestsync"},
		},
		"another domain": {
			bindDN: `OTHER\svc-guestsync`,
			want:   sicilyBind{Domain: "OTHER", User: "svc-guestsync"},
		},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			srv := startSicilyServer(t)
			password := tc.password
			if password == "" {
				password = ntlmTestPassword
			}
			cfg := tapConfig(srv.url)
			cfg.BindMethod, cfg.BindDN, cfg.NTLMDomain, cfg.BindPassword = "ntlm", tc.bindDN, tc.ntlmDomain, password
			var logs bytes.Buffer
			r, err := New(cfg, debugLogger(&logs))
			require.NoError(t, err)
			var dns []string
			res, err := r.Read(context.Background(), func(e source.Entry) error {
				dns = append(dns, e.DN)
				return nil
			})

			binds, searches := srv.seen()
			assert.Equal(t, []sicilyBind{tc.want}, binds)
			assert.Contains(t, logs.String(), "NTLM bind without TLS")
			assert.NotContains(t, logs.String(), password)
			if tc.want.Accepted {
				require.NoError(t, err)
				assert.Equal(t, source.Result{Entries: 2, Complete: true}, res)
				assert.Equal(t, []string{scriptedDN(0), scriptedDN(1)}, dns)
				assert.Equal(t, 1, searches)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), fmt.Sprintf("bind to %s as %q: invalid credentials: check bindDN, ntlmDomain and bindPassword", srv.url, tc.bindDN))
			assert.Contains(t, err.Error(), `LDAP Result Code 49 "Invalid Credentials": `+adInvalidCredentials)
			assert.NotContains(t, err.Error(), password)
			assert.Equal(t, source.Result{}, res)
			assert.Empty(t, dns)
			assert.Zero(t, searches)
		})
	}
}
