package ldapconn

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"

	ber "github.com/go-asn1-ber/asn1-ber"
	goldap "github.com/go-ldap/ldap/v3"
)

// startTLSOID names the StartTLS extended operation (RFC 4511 section
// 4.14.1).
const startTLSOID = "1.3.6.1.4.1.1466.20037"

// startTLS asks the server on c to start TLS and returns the connection
// after the handshake. It is the exchange go-ldap's Conn.StartTLS makes,
// built with the same BER package, but done before go-ldap is given the
// connection: go-ldap would put TLS on top of the connection it was
// given, under the entry tap, which would then see encrypted bytes.
//
// It is the first message on the connection, so its ID is 1, and the
// server sends nothing after its answer until the client's TLS hello:
// reading the answer without a buffer leaves the handshake's bytes
// where tls.Client will read them.
func startTLS(ctx context.Context, c net.Conn, cfg *tls.Config) (*tls.Conn, error) {
	req := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "LDAP Request")
	req.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, 1, "MessageID"))
	op := ber.Encode(ber.ClassApplication, ber.TypeConstructed, goldap.ApplicationExtendedRequest, nil, "Start TLS")
	op.AppendChild(ber.NewString(ber.ClassContext, ber.TypePrimitive, 0, startTLSOID, "TLS Extended Command"))
	req.AppendChild(op)
	if _, err := c.Write(req.Bytes()); err != nil {
		return nil, err
	}
	resp, err := ber.ReadPacket(c)
	if err != nil {
		return nil, fmt.Errorf("no answer from the server: %w", err)
	}
	if err := checkStartTLSResponse(resp); err != nil {
		return nil, err
	}
	tc := tls.Client(c, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		return nil, goldap.NewError(goldap.ErrorNetwork, fmt.Errorf("TLS handshake failed (%w)", err))
	}
	return tc, nil
}

// checkStartTLSResponse checks that resp is the ExtendedResponse to
// message 1 and that it succeeded; a refusal comes back as go-ldap's
// *Error with the server's result code and message.
func checkStartTLSResponse(resp *ber.Packet) error {
	if len(resp.Children) < 2 {
		return goldap.NewError(goldap.ErrorUnexpectedResponse, errors.New("the server's answer to StartTLS is not an LDAP response"))
	}
	id, ok := resp.Children[0].Value.(int64)
	op := resp.Children[1]
	if !ok || id != 1 || op.ClassType != ber.ClassApplication || op.Tag != goldap.ApplicationExtendedResponse {
		return goldap.NewError(goldap.ErrorUnexpectedResponse, fmt.Errorf("the server answered StartTLS with something else (message %v, tag %d)", resp.Children[0].Value, op.Tag))
	}
	if err := goldap.GetLDAPError(resp); err != nil {
		return err
	}
	return nil
}
