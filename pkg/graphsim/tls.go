package graphsim

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"slices"
	"time"
)

// TLSLifetime is how long the certificates of NewTLS stay valid: long
// enough for a test session or a soak, short enough that a copied CA file
// is worthless soon. A restarted emulator makes a new CA.
const TLSLifetime = 7 * 24 * time.Hour

// clockSkew backdates the certificates so that a client whose clock runs a
// little behind accepts them.
const clockSkew = time.Hour

// TLS is a throwaway certificate authority and a server certificate it
// signed, made for one run of the emulator. Graph documents every request
// as {HTTP method} https://graph.microsoft.com/{version}/{resource} ("Use
// the Microsoft Graph API"), and Microsoft's SDKs in other languages assume
// HTTPS (the JavaScript client sends no token to a plain-http host and
// cannot follow an http:// nextLink), so clients that trust CAPEM can talk
// to the emulator as they talk to Graph. The links the emulator writes
// carry the scheme a request came in on.
type TLS struct {
	// CAPEM is the CA certificate, PEM encoded: what clients add to their
	// trusted roots. The CA's private key is never kept: it signs the
	// server certificate and is dropped, so nothing else can be signed.
	CAPEM []byte
	// Config serves the server certificate (with the CA in its chain) over
	// HTTP/1.1: the emulator's dropped-connection fault needs a connection
	// it can take over, which HTTP/2 does not give.
	Config *tls.Config
}

// NewTLS makes an ECDSA P-256 CA and a server certificate for 127.0.0.1,
// ::1, localhost and hosts (IP addresses or DNS names, e.g. the address
// the emulator listens on), valid from now for TLSLifetime.
func NewTLS(now time.Time, hosts ...string) (*TLS, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("graphsim: CA key: %w", err)
	}
	notBefore, notAfter := now.Add(-clockSkew), now.Add(TLSLifetime)
	caTemplate := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "guestsync graph-emulator CA", Organization: []string{"guestsync"}},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTemplate, caTemplate, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("graphsim: CA certificate: %w", err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, fmt.Errorf("graphsim: CA certificate: %w", err)
	}

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("graphsim: server key: %w", err)
	}
	leaf := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: "localhost", Organization: []string{"guestsync"}},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
		DNSNames:     []string{"localhost"},
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			if !ip.IsUnspecified() && !slices.ContainsFunc(leaf.IPAddresses, ip.Equal) {
				leaf.IPAddresses = append(leaf.IPAddresses, ip)
			}
		} else if h != "" && h != "localhost" {
			leaf.DNSNames = append(leaf.DNSNames, h)
		}
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("graphsim: server certificate: %w", err)
	}
	return &TLS{
		CAPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		Config: &tls.Config{
			Certificates: []tls.Certificate{{Certificate: [][]byte{leafDER, caDER}, PrivateKey: key}},
			MinVersion:   tls.VersionTLS12,
			NextProtos:   []string{"http/1.1"},
		},
	}, nil
}

// serial is a random 128-bit certificate serial number, as RFC 5280
// section 4.1.2.2 asks (positive, unique per CA, at most 20 octets).
func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		panic("graphsim: crypto/rand failed: " + err.Error()) // crypto/rand does not fail on supported platforms
	}
	return n.Add(n, big.NewInt(1))
}
