package ldap

import (
	"bufio"
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
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/guestsync/guestsync/pkg/source"
)

// fault is what faultProxy does to the answer to one search.
type fault int

const (
	// closeBeforeDone closes the connection in place of the search's
	// result (SearchResultDone): its entries came, its end did not.
	closeBeforeDone fault = iota
	// stallBeforeDone forwards nothing more from the server from the
	// search's result on, the connection open: a page that never ends.
	stallBeforeDone
	// dropRequest never forwards the search's request, nor anything
	// after it from the client: a page that never comes.
	dropRequest
	// stripControls removes the controls of the search's result: the
	// paging cookie is lost on the way.
	stripControls
)

func (f fault) String() string {
	return [...]string{"close before the result", "stall before the result", "request never arrives", "result without controls"}[f]
}

// faultProxy forwards every connection to target, LDAP message by LDAP
// message, and applies the fault to the nth search request (1-based)
// whose bytes contain match, counted over all connections.
type faultProxy struct {
	target string
	match  []byte
	nth    int
	fault  fault

	mu      sync.Mutex
	matched int
	hit     bool
	stop    chan struct{}
}

// start listens on loopback and returns the proxy's address.
func (p *faultProxy) start(t *testing.T) string {
	t.Helper()
	p.stop = make(chan struct{})
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() {
		close(p.stop)
		l.Close()
	})
	go func() {
		for {
			client, err := l.Accept()
			if err != nil {
				return
			}
			server, err := net.Dial("tcp", p.target)
			if err != nil {
				client.Close()
				return
			}
			go p.serve(client, server)
		}
	}()
	return l.Addr().String()
}

// faulted reports whether the fault was applied.
func (p *faultProxy) faulted() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.hit
}

func (p *faultProxy) serve(client, server net.Conn) {
	defer client.Close()
	defer server.Close()
	var target sync.Map // message ID of the faulted search on this connection
	stall := func() {
		p.mu.Lock()
		p.hit = true
		p.mu.Unlock()
		<-p.stop
	}
	go func() {
		defer server.Close()
		in := bufio.NewReader(client)
		for {
			msg, err := readMessage(in)
			if err != nil {
				return
			}
			if id, op, ok := messageOp(msg); ok && op == berSearchRequest && bytes.Contains(msg, p.match) {
				p.mu.Lock()
				p.matched++
				nth := p.matched == p.nth
				p.mu.Unlock()
				if nth {
					if p.fault == dropRequest {
						stall()
						return
					}
					target.Store(id, true)
				}
			}
			if _, err := server.Write(msg); err != nil {
				return
			}
		}
	}()
	in := bufio.NewReader(server)
	for {
		msg, err := readMessage(in)
		if err != nil {
			return
		}
		if id, op, ok := messageOp(msg); ok && op == 0x65 { // SearchResultDone
			if _, faulted := target.Load(id); faulted {
				switch p.fault {
				case closeBeforeDone:
					p.mu.Lock()
					p.hit = true
					p.mu.Unlock()
					return
				case stallBeforeDone:
					stall()
					return
				case stripControls:
					p.mu.Lock()
					p.hit = true
					p.mu.Unlock()
					msg = withoutControls(msg)
				}
			}
		}
		if _, err := client.Write(msg); err != nil {
			return
		}
	}
}

// readMessage reads one whole LDAP message (a BER SEQUENCE).
func readMessage(in *bufio.Reader) ([]byte, error) {
	head := make([]byte, 2)
	if _, err := io.ReadFull(in, head); err != nil {
		return nil, err
	}
	n := int(head[1])
	if n&0x80 != 0 {
		k := n & 0x7f
		lb := make([]byte, k)
		if _, err := io.ReadFull(in, lb); err != nil {
			return nil, err
		}
		head = append(head, lb...)
		n = 0
		for _, c := range lb {
			n = n<<8 | int(c)
		}
	}
	msg := make([]byte, len(head)+n)
	copy(msg, head)
	_, err := io.ReadFull(in, msg[len(head):])
	return msg, err
}

// messageOp returns the message ID and operation tag of msg.
func messageOp(msg []byte) (int64, byte, bool) {
	s := string(msg)
	start, end, err := berElement(s, 0, len(s), berSequence)
	if err != nil {
		return 0, 0, false
	}
	idStart, idEnd, err := berElement(s, start, end, berInteger)
	if err != nil || idEnd >= end {
		return 0, 0, false
	}
	id := int64(0)
	for i := idStart; i < idEnd; i++ {
		id = id<<8 | int64(s[i])
	}
	return id, s[idEnd], true
}

// withoutControls re-encodes msg without its controls.
func withoutControls(msg []byte) []byte {
	p, err := ber.DecodePacketErr(msg)
	if err != nil || len(p.Children) < 3 {
		return msg
	}
	out := ber.Encode(p.ClassType, p.TagType, p.Tag, nil, "")
	out.AppendChild(p.Children[0])
	out.AppendChild(p.Children[1])
	return out.Bytes()
}

// TestSlapdFaultsNeverMakeACompleteRead: a directory read that loses its
// end (the server's result never comes, a page never comes, the paging
// cookie is lost) is an error, never a complete read of fewer entries.
func TestSlapdFaultsNeverMakeACompleteRead(t *testing.T) {
	eachDecoder(t, testSlapdFaultsNeverMakeACompleteRead)
}

func testSlapdFaultsNeverMakeACompleteRead(t *testing.T, decoder string) {
	env := needSlapd(t)
	env.decoder = decoder
	host := strings.TrimPrefix(env.url, "ldap://")
	tests := []struct {
		fault    fault
		nth      int // which page (or search) of the read
		noPaging bool
		want     string
	}{
		{fault: closeBeforeDone, nth: 1},
		{fault: closeBeforeDone, nth: 3},
		{fault: closeBeforeDone, nth: 1, noPaging: true},
		{fault: stallBeforeDone, nth: 2, want: timedOut(decoder, time.Second)},
		{fault: stallBeforeDone, nth: 1, noPaging: true, want: timedOut(decoder, time.Second)},
		{fault: dropRequest, nth: 2, want: timedOut(decoder, time.Second)},
		{fault: stripControls, nth: 1, want: "the server ended page 1 of a paged search without the paged-results control"},
		{fault: stripControls, nth: 4, want: "the server ended page 4 of a paged search without the paged-results control"},
	}
	for _, tt := range tests {
		name := fmt.Sprintf("%s, search %d", tt.fault, tt.nth)
		if tt.noPaging {
			name += ", no paging"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cfg := env.partners()
			cfg.PageSize = 200
			cfg.Timeout = time.Second // the stall never ends: any timeout is reached
			if tt.noPaging {
				cfg.NoPaging = true
				cfg.Filter = "(&(employeeType=Partner)(uid=partner0001*))" // under slapd's size limit
			}
			p := &faultProxy{target: host, match: []byte("employeeType"), nth: tt.nth, fault: tt.fault}
			cfg.URL = "ldap://" + p.start(t)
			r, err := New(cfg, nil)
			require.NoError(t, err)
			res, err := r.Read(context.Background(), func(source.Entry) error { return nil })
			require.True(t, p.faulted(), "the fault happened")
			require.Error(t, err)
			t.Log(err)
			assert.False(t, res.Complete)
			if tt.want != "" {
				assert.Contains(t, err.Error(), tt.want)
			}
		})
	}
}

// timedOut is what a read says when the server leaves a page unanswered
// for timeout: the tap counts each wait for the server, go-ldap the whole
// answer.
func timedOut(decoder string, timeout time.Duration) string {
	if decoder == DecoderGoLDAP {
		return fmt.Sprintf("no complete answer from the server within %s", timeout)
	}
	return fmt.Sprintf("no answer from the server for %s", timeout)
}

// TestSlapdChangesReadFaults: the same faults during an entryCSN read of
// the changes fail it.
func TestSlapdChangesReadFaults(t *testing.T) { eachDecoder(t, testSlapdChangesReadFaults) }

func testSlapdChangesReadFaults(t *testing.T, decoder string) {
	env := needWritableSlapd(t)
	env.decoder = decoder
	base := env.incrTree(t)
	cfg := env.incrConfig(base)
	r, err := New(cfg, nil)
	require.NoError(t, err)
	full, err := r.Read(context.Background(), func(source.Entry) error { return nil })
	require.NoError(t, err)
	require.NotEmpty(t, full.Watermark)
	conn := env.admin(t)
	for i := 1; i <= 5; i++ {
		replace(t, conn, fmt.Sprintf("uid=p%d,%s", i, base), "title", "changed")
	}

	for _, f := range []fault{closeBeforeDone, stallBeforeDone, dropRequest, stripControls} {
		t.Run(f.String(), func(t *testing.T) {
			t.Parallel()
			cfg := cfg
			cfg.Timeout = time.Second
			// The first search that names entryCSN takes the new
			// watermark; the second reads the changes.
			p := &faultProxy{target: strings.TrimPrefix(env.url, "ldap://"), match: []byte("entryCSN"), nth: 2, fault: f}
			cfg.URL = "ldap://" + p.start(t)
			r, err := New(cfg, nil)
			require.NoError(t, err)
			res, err := r.ReadChanges(context.Background(), full.Watermark, func(source.Entry) error { return nil })
			require.True(t, p.faulted(), "the fault happened")
			require.Error(t, err)
			t.Log(err)
			assert.Contains(t, err.Error(), "(entryCSN>=")
			assert.False(t, res.Complete)
		})
	}
}

// TestSambaChangesReadFaults: DirSync and uSNChanged reads of the
// changes that lose their end fail, or read everything instead (DirSync
// without its control is taken for a refusal); never a complete read of
// the changes.
func TestSambaChangesReadFaults(t *testing.T) { eachDecoder(t, testSambaChangesReadFaults) }

func testSambaChangesReadFaults(t *testing.T, decoder string) {
	tests := []struct {
		mech  string
		match string // in the request of the search that reads the changes
		fault fault
	}{
		{IncrementalDirSync, "1.2.840.113556.1.4.841", closeBeforeDone},
		{IncrementalDirSync, "1.2.840.113556.1.4.841", stallBeforeDone},
		{IncrementalDirSync, "1.2.840.113556.1.4.841", dropRequest},
		{IncrementalDirSync, "1.2.840.113556.1.4.841", stripControls},
		{IncrementalUSN, "uSNChanged", closeBeforeDone},
		{IncrementalUSN, "uSNChanged", stallBeforeDone},
		{IncrementalUSN, "uSNChanged", stripControls},
	}
	for _, tt := range tests {
		t.Run(tt.mech+", "+tt.fault.String(), func(t *testing.T) {
			t.Parallel()
			a := newIncrAD(t)
			a.env.decoder = decoder
			r, err := New(a.config(func(c *Config) { c.Incremental = tt.mech }), nil)
			require.NoError(t, err)
			_, mark := changesScenario(t, a, r)

			p := &faultProxy{target: net.JoinHostPort(strings.TrimPrefix(a.env.url, "ldap://"), "389"), match: []byte(tt.match), nth: 1, fault: tt.fault}
			cfg := a.config(func(c *Config) {
				c.Incremental = tt.mech
				c.URL, c.CAFile, c.AllowInsecureBind = "ldap://"+p.start(t), "", true // loopback, test only
				c.Timeout = 2 * time.Second                                           // the stall never ends
			})
			r, err = New(cfg, nil)
			require.NoError(t, err)
			res, err := r.ReadChanges(context.Background(), mark, func(source.Entry) error { return nil })
			require.True(t, p.faulted(), "the fault happened")
			if err == nil {
				// Only a read of everything may then succeed.
				require.True(t, res.Complete)
				assert.False(t, res.Incremental, "a full read instead of the changes")
				return
			}
			t.Log(err)
			assert.False(t, res.Complete)
		})
	}
}
