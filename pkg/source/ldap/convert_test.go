package ldap

import (
	"log/slog"
	"net"
	"strconv"
	"strings"
	"syscall"
	"testing"

	goldap "github.com/go-ldap/ldap/v3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/guestsync/guestsync/pkg/source"
)

func TestToEntryKeepsBinaryValues(t *testing.T) {
	t.Parallel()
	guid := []byte{0xd2, 0x8a, 0x5e, 0x4f, 0x00, 0xff, 0x80, 0x41, 0x9c, 0x11, 0xe6, 0x7a, 0x3b, 0xc0, 0xde, 0x01}
	in := &goldap.Entry{
		DN: "CN=Zoë Müller,OU=Partners,DC=example,DC=test",
		Attributes: []*goldap.EntryAttribute{
			{Name: "objectGUID", Values: []string{"lossy"}, ByteValues: [][]byte{guid}},
			{Name: "proxyAddresses", ByteValues: [][]byte{[]byte("SMTP:zoe@sgt.example"), []byte("smtp:zm@sgt.example")}},
			{Name: "member;range=0-1499", ByteValues: [][]byte{[]byte("CN=a")}},
			{Name: "cn", Values: []string{"Zoë Müller"}, ByteValues: [][]byte{[]byte("Zoë Müller")}},
		},
	}
	e := toEntry(in)
	assert.Equal(t, in.DN, e.DN)
	v, ok := e.First("objectguid")
	require.True(t, ok)
	assert.Equal(t, string(guid), v)
	assert.Equal(t, []string{"SMTP:zoe@sgt.example", "smtp:zm@sgt.example"}, e.Values("proxyAddresses"))
	assert.Equal(t, []string{"CN=a"}, e.Attributes["member;range=0-1499"])
	assert.Equal(t, []string{"Zoë Müller"}, e.Values("cn"))

	guid[0] = 0 // the entry must not share memory with go-ldap's buffers
	assert.Equal(t, byte(0xd2), e.Attributes["objectGUID"][0][0])
}

// deadAddr returns a loopback address where nothing listens.
func deadAddr(t *testing.T) string {
	t.Helper()
	// A socket bound to the port and not listening: connecting to it is
	// refused, and no other test can take the port meanwhile (a listener
	// closed again would free it for the many that open ports at once).
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	require.NoError(t, err)
	t.Cleanup(func() { _ = syscall.Close(fd) })
	require.NoError(t, syscall.Bind(fd, &syscall.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}))
	sa, err := syscall.Getsockname(fd)
	require.NoError(t, err)
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(sa.(*syscall.SockaddrInet4).Port))
}

func TestUndecodableTextIsReportedPerEntry(t *testing.T) {
	t.Parallel()
	var logged strings.Builder
	r := &Reader{log: slog.New(slog.NewTextHandler(&logged, nil))}
	r.reportUndecodable(source.Entry{DN: "CN=ok", Attributes: map[string][]string{
		"objectGUID": {"\xff\xfe binary is fine"}, "mail": {"a@x"},
	}})
	assert.Empty(t, logged.String(), "binary attributes and valid text are not reported")
	r.reportUndecodable(source.Entry{DN: "CN=Broken Latin-1,OU=Partners", Attributes: map[string][]string{
		"sn": {"M\xfcller"}, "title": {"ok", "Gesch\xe4ftsf\xfchrer"}, "mail": {"a@x"},
	}})
	assert.Contains(t, logged.String(), `level=WARN msg="values that are not valid UTF-8 text" dn="CN=Broken Latin-1,OU=Partners" attributes=sn,title`)
}
