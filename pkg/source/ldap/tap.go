package ldap

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	ber "github.com/go-asn1-ber/asn1-ber"

	"github.com/guestsync/guestsync/pkg/source"
)

// entryTap sits between go-ldap and the connection, and takes the entries
// of the search that streams a directory read before go-ldap sees them.
//
// go-ldap builds a tree of ber.Packet values for every message (about 70
// for a partner's entry), describes each, and hands it through two
// goroutines to the caller, which converts it to an Entry: that was three
// quarters of the reader's CPU time, and it kept the reader at about 0.6
// times the speed of ldapsearch. The tap decodes a SearchResultEntry
// (RFC 4511 section 4.5.2) straight from the bytes into a source.Entry:
// one string holds the DN and every value, and entries reach the reader
// in batches. Everything else (binds, StartTLS is done before, the result
// that ends a search with its controls and code, referrals, and every
// message while no search is tapped) goes through to go-ldap unchanged, so
// go-ldap still does the protocol: requests, message IDs, controls,
// result codes and errors.
//
// The tap frames the stream by message and looks at each message's
// operation. It takes entries only while a sink is attached, which a page
// of a search does before it sends its request and undoes after its
// result, and only those with the message ID of that request (go-ldap
// drops any other, as it always did): one search at a time streams on a
// tapped connection (see aside).
type entryTap struct {
	net.Conn
	in *bufio.Reader
	// pass is how much of the current message is still go-ldap's to read.
	pass int

	// waitingSince is when the tap began to wait for the server (Unix
	// nanoseconds), or 0 while it is not waiting.
	waitingSince atomic.Int64

	mu   sync.Mutex
	sink *entrySink
}

// socketReader is the tap's connection as its buffer reads it: it marks
// the time spent waiting in a read.
type socketReader struct{ t *entryTap }

func (r socketReader) Read(p []byte) (int, error) {
	r.t.waitingSince.Store(time.Now().UnixNano())
	n, err := r.t.Conn.Read(p)
	r.t.waitingSince.Store(0)
	return n, err
}

// waitingFor is how long the tap has been waiting for the server, not
// counting the time before since: zero when it is not waiting.
func (t *entryTap) waitingFor(since time.Time) time.Duration {
	w := t.waitingSince.Load()
	if w == 0 {
		return 0
	}
	start := time.Unix(0, w)
	if start.Before(since) {
		start = since
	}
	return time.Since(start)
}

// tapBatch is entries in the order they came, or the error that ended
// the tap's reading.
type tapBatch struct {
	entries []tappedEntry
	err     error
}

// tappedEntry is an entry with what the tap noticed while decoding it,
// which spares the reader a second pass over its attributes (tappedFrom
// makes that pass for an entry go-ldap decoded).
type tappedEntry struct {
	source.Entry
	// options: an attribute's description has options, such as
	// Active Directory's ";range=0-1499" (see completeRanges).
	options bool
	// notText: a value is not valid UTF-8 (see reportUndecodable).
	notText bool
}

// entrySink receives the entries of one page of one search.
type entrySink struct {
	// id is the message ID of the search, once its request is written;
	// -1 before.
	id      atomic.Int64
	batches chan tapBatch
	// stop is closed when the search stops taking entries: the rest are
	// dropped, as go-ldap drops results nobody waits for.
	stop chan struct{}
	// batch is the batch being filled; only the connection's reading
	// goroutine touches it.
	batch []tappedEntry
}

// tapBatchSize is how many entries a batch holds at most; a batch also
// goes when the page's result comes. Entries are not sent as soon as the
// socket runs dry: a client that keeps up with the server would then
// wake the reader for every entry or two, which cost a third of its
// time. A slow server therefore delays entries, but never loses them or
// fails the read: the watchdog counts the time spent waiting for the
// server (see waitingFor), not the time since the last batch.
const tapBatchSize = 128

// BER tags (X.690) of the parts of an LDAP message that the tap reads.
const (
	berInteger     = 0x02
	berOctetString = 0x04
	berSequence    = 0x30
	berSet         = 0x31
	// SearchRequest ::= [APPLICATION 3] SEQUENCE, constructed.
	berSearchRequest = 0x63
	// SearchResultEntry ::= [APPLICATION 4] SEQUENCE, constructed.
	berSearchResultEntry = 0x64
)

func newEntryTap(c net.Conn) *entryTap {
	t := &entryTap{Conn: c}
	t.in = bufio.NewReaderSize(socketReader{t}, readBuffer)
	return t
}

// attach starts taking entries into a new sink. Call it before sending
// the search request.
func (t *entryTap) attach() *entrySink {
	s := &entrySink{batches: make(chan tapBatch, 2), stop: make(chan struct{})}
	s.id.Store(-1)
	t.mu.Lock()
	t.sink = s
	t.mu.Unlock()
	return s
}

// detach stops taking entries into s. Call it after go-ldap has
// delivered the search's result, or after abandoning the search.
func (t *entryTap) detach(s *entrySink) {
	t.mu.Lock()
	if t.sink == s {
		t.sink = nil
	}
	t.mu.Unlock()
}

func (t *entryTap) current() *entrySink {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.sink
}

// Read gives go-ldap the messages the tap does not take, whole and in
// order.
func (t *entryTap) Read(p []byte) (int, error) {
	for t.pass == 0 {
		if err := t.next(); err != nil {
			// The entries read so far go before the error ends the
			// search: a read that fails says how far it got.
			if sink := t.current(); sink != nil {
				sink.flush()
			}
			return 0, err
		}
	}
	if len(p) > t.pass {
		p = p[:t.pass]
	}
	n, err := t.in.Read(p)
	t.pass -= n
	return n, err
}

// next reads the header of the next message. An entry for the sink's
// search is read whole and decoded; any other message is left for
// go-ldap.
func (t *entryTap) next() error {
	head, err := t.in.Peek(1)
	if err != nil {
		return err
	}
	// The sink is looked up once the message has begun to arrive: a
	// search attaches its sink before it sends its request, so the sink
	// is there for every answer to it, even when this goroutine started
	// waiting before the search began.
	sink := t.current()
	if head[0] != berSequence {
		return fmt.Errorf("the server sent something that is not an LDAP message (first byte %#02x)", head[0])
	}
	size, n, err := t.peekLength(1)
	if err != nil {
		return fmt.Errorf("the server sent an LDAP message with %w", err)
	}
	hdr := 1 + n
	if size > uint64(maxMessage()-hdr) {
		return fmt.Errorf("the server sent an LDAP message of %d bytes, more than the limit of %d", size, maxMessage())
	}
	total := hdr + int(size)
	if sink == nil || !t.isEntryFor(sink.id.Load(), hdr, total) {
		if sink != nil {
			sink.flush() // entries go before the result that ends them
		}
		t.pass = total
		return nil
	}

	var msg string
	if total <= t.in.Size() {
		b, err := t.in.Peek(total)
		if err != nil {
			return err
		}
		msg = string(b)
	} else {
		// Read as it arrives: a length is only what the server claims.
		var b strings.Builder
		if _, err := io.CopyN(&b, t.in, int64(total)); err != nil {
			return err
		}
		msg = b.String()
	}
	e, err := decodeEntry(msg, hdr)
	if err != nil {
		sink.flush()
		sink.send(tapBatch{err: err})
		return err
	}
	if total <= t.in.Size() {
		if _, err := t.in.Discard(total); err != nil {
			return err
		}
	}
	sink.add(e)
	return nil
}

// maxMessage is the largest message the tap reads: asn1-ber's limit, as
// go-ldap would apply it, within what an int holds on any platform.
func maxMessage() int {
	limit := int64(math.MaxInt32 - 16)
	if l := ber.MaxPacketLengthBytes; l > 0 && l < limit {
		limit = l
	}
	return int(limit)
}

// peekLength decodes the BER length (X.690 8.1.3) at offset at of the
// buffered stream, and says how many bytes encode it. LDAP never uses
// the indefinite form (RFC 4511 section 5.1).
func (t *entryTap) peekLength(at int) (length uint64, size int, err error) {
	b, err := t.in.Peek(at + 1)
	if err != nil {
		return 0, 0, err
	}
	first := b[at]
	if first&0x80 == 0 {
		return uint64(first), 1, nil
	}
	k := int(first & 0x7f)
	if k == 0 || k > 8 {
		return 0, 0, fmt.Errorf("an invalid length (%#02x)", first)
	}
	b, err = t.in.Peek(at + 1 + k)
	if err != nil {
		return 0, 0, err
	}
	for _, c := range b[at+1:] {
		length = length<<8 | uint64(c)
	}
	return length, 1 + k, nil
}

// isEntryFor reports whether the message whose content starts at hdr is
// a SearchResultEntry with message ID id. A message too short to say is
// not.
func (t *entryTap) isEntryFor(id int64, hdr, total int) bool {
	// LDAPMessage ::= SEQUENCE { messageID INTEGER (0..maxInt), protocolOp ...
	if id < 0 || total < hdr+3 {
		return false
	}
	b, err := t.in.Peek(hdr + 1)
	if err != nil || b[hdr] != berInteger {
		return false
	}
	idLen, n, err := t.peekLength(hdr + 1)
	if err != nil || idLen == 0 || idLen > 4 {
		return false
	}
	op := hdr + 1 + n + int(idLen)
	if op >= total {
		return false
	}
	b, err = t.in.Peek(op + 1)
	if err != nil || b[op] != berSearchResultEntry {
		return false
	}
	got := int64(0)
	for _, c := range b[op-int(idLen) : op] {
		got = got<<8 | int64(c)
	}
	return got == id
}

// Write notes the message ID of the search request sent while a sink
// waits for it: the tap takes the entries of that search only. go-ldap
// writes each request whole, in one call.
func (t *entryTap) Write(p []byte) (int, error) {
	if sink := t.current(); sink != nil && sink.id.Load() < 0 {
		if id, ok := searchRequestID(p); ok {
			sink.id.Store(id)
		}
	}
	return t.Conn.Write(p)
}

// searchRequestID returns the message ID of msg if it is a SearchRequest.
func searchRequestID(msg []byte) (int64, bool) {
	s := string(msg)
	start, end, err := berElement(s, 0, len(s), berSequence)
	if err != nil {
		return 0, false
	}
	idStart, idEnd, err := berElement(s, start, end, berInteger)
	if err != nil || idEnd == idStart || idEnd-idStart > 4 || s[idStart]&0x80 != 0 || idEnd >= end || s[idEnd] != berSearchRequest {
		return 0, false
	}
	id := int64(0)
	for i := idStart; i < idEnd; i++ {
		id = id<<8 | int64(s[i])
	}
	return id, true
}

func (s *entrySink) add(e tappedEntry) {
	if s.batch == nil {
		s.batch = make([]tappedEntry, 0, tapBatchSize)
	}
	s.batch = append(s.batch, e)
	if len(s.batch) == tapBatchSize {
		s.flush()
	}
}

func (s *entrySink) flush() {
	if len(s.batch) == 0 {
		return
	}
	s.send(tapBatch{entries: s.batch})
	s.batch = nil
}

func (s *entrySink) send(b tapBatch) {
	select {
	case s.batches <- b:
	case <-s.stop:
	}
}

// errTruncated is a part of a message that claims more bytes than hold
// it; errTrailing, bytes after the last element of a part.
var (
	errTruncated = errors.New("truncated")
	errTrailing  = errors.New("unexpected bytes after its end")
)

// decodeEntry decodes the LDAPMessage msg, a SearchResultEntry whose
// content starts at hdr:
//
//	LDAPMessage ::= SEQUENCE { messageID INTEGER, protocolOp SearchResultEntry, controls [0] OPTIONAL }
//	SearchResultEntry ::= [APPLICATION 4] SEQUENCE { objectName LDAPDN, attributes PartialAttributeList }
//	PartialAttributeList ::= SEQUENCE OF SEQUENCE { type AttributeDescription, vals SET OF OCTET STRING }
//
// The DN, names and values are substrings of msg: one allocation holds
// them all. An attribute that comes twice has its values joined, as
// go-ldap's Entry would list both.
func decodeEntry(msg string, hdr int) (tappedEntry, error) {
	var e tappedEntry
	idStart, p, err := berElement(msg, hdr, len(msg), berInteger)
	if err == nil && (p == idStart || p-idStart > 4) {
		err = fmt.Errorf("%d bytes", p-idStart) // MessageID ::= INTEGER (0 .. 2^31-1)
	}
	if err != nil {
		return e, malformedEntry(e.DN, "message ID", err)
	}
	opStart, opEnd, err := berElement(msg, p, len(msg), berSearchResultEntry)
	if err != nil {
		return e, malformedEntry(e.DN, "operation", err)
	}
	dnStart, dnEnd, err := berElement(msg, opStart, opEnd, berOctetString)
	if err != nil {
		return e, malformedEntry(e.DN, "DN", err)
	}
	e.DN = msg[dnStart:dnEnd]
	listStart, listEnd, err := berElement(msg, dnEnd, opEnd, berSequence)
	if err == nil && listEnd != opEnd {
		err = errTrailing
	}
	if err != nil {
		return e, malformedEntry(e.DN, "attribute list", err)
	}

	// A first pass counts attributes and values, so that the map and one
	// slice for every value are made at their size.
	attrs, values := 0, 0
	for q := listStart; q < listEnd; {
		aStart, aEnd, err := berElement(msg, q, listEnd, berSequence)
		if err != nil {
			return e, malformedEntry(e.DN, "attribute", err)
		}
		_, nameEnd, err := berElement(msg, aStart, aEnd, berOctetString)
		if err != nil {
			return e, malformedEntry(e.DN, "attribute name", err)
		}
		setStart, setEnd, err := berElement(msg, nameEnd, aEnd, berSet)
		if err == nil && setEnd != aEnd {
			err = errTrailing
		}
		if err != nil {
			return e, malformedEntry(e.DN, "attribute values", err)
		}
		for v := setStart; v < setEnd; values++ {
			if _, v, err = berElement(msg, v, setEnd, berOctetString); err != nil {
				return e, malformedEntry(e.DN, "attribute value", err)
			}
		}
		attrs++
		q = aEnd
	}

	e.Attributes = make(map[string][]string, attrs)
	all := make([]string, 0, values)
	for q := listStart; q < listEnd; {
		// Checked by the first pass.
		aStart, aEnd, _ := berElement(msg, q, listEnd, berSequence)
		nameStart, nameEnd, _ := berElement(msg, aStart, aEnd, berOctetString)
		setStart, setEnd, _ := berElement(msg, nameEnd, aEnd, berSet)
		first := len(all)
		for v := setStart; v < setEnd; {
			vStart, vEnd, _ := berElement(msg, v, setEnd, berOctetString)
			val := msg[vStart:vEnd]
			if !e.notText && !utf8.ValidString(val) {
				e.notText = true
			}
			all = append(all, val)
			v = vEnd
		}
		name := msg[nameStart:nameEnd]
		if !e.options && strings.IndexByte(name, ';') >= 0 {
			e.options = true
		}
		// A server sends each attribute once, so the map is not searched
		// for an earlier one: an entry it did not grow is decoded again,
		// joining the values.
		n := len(e.Attributes)
		e.Attributes[name] = all[first:len(all):len(all)]
		if len(e.Attributes) == n {
			joinRepeated(msg, listStart, listEnd, &e)
			return e, nil
		}
		q = aEnd
	}
	return e, nil
}

// joinRepeated decodes the attribute list of msg into e again, the
// values of an attribute sent more than once joined in order, as
// go-ldap's Entry would list them.
func joinRepeated(msg string, listStart, listEnd int, e *tappedEntry) {
	clear(e.Attributes)
	for q := listStart; q < listEnd; {
		// Checked by decodeEntry's first pass.
		aStart, aEnd, _ := berElement(msg, q, listEnd, berSequence)
		nameStart, nameEnd, _ := berElement(msg, aStart, aEnd, berOctetString)
		setStart, setEnd, _ := berElement(msg, nameEnd, aEnd, berSet)
		name := msg[nameStart:nameEnd]
		e.options = e.options || strings.IndexByte(name, ';') >= 0
		vals := e.Attributes[name]
		if vals == nil {
			vals = []string{}
		}
		for v := setStart; v < setEnd; {
			vStart, vEnd, _ := berElement(msg, v, setEnd, berOctetString)
			val := msg[vStart:vEnd]
			e.notText = e.notText || !utf8.ValidString(val)
			vals = append(vals, val)
			v = vEnd
		}
		e.Attributes[name] = vals
		q = aEnd
	}
}

func malformedEntry(dn, part string, err error) error {
	if dn == "" {
		return fmt.Errorf("the server sent a malformed search result entry: its %s: %w", part, err)
	}
	return fmt.Errorf("the server sent a malformed search result entry %q: its %s: %w", dn, part, err)
}

// berElement reads the element at s[p:limit], which must have tag, and
// returns where its content starts and ends (definite lengths only, as
// RFC 4511 section 5.1 requires).
func berElement(s string, p, limit int, tag byte) (start, end int, err error) {
	if p+2 > limit {
		return 0, 0, errTruncated
	}
	if s[p] != tag {
		return 0, 0, fmt.Errorf("tag %#02x where %#02x belongs", s[p], tag)
	}
	n := int(s[p+1])
	p += 2
	if n&0x80 != 0 {
		k := n & 0x7f
		if k == 0 || k > 4 {
			return 0, 0, fmt.Errorf("invalid length %#02x", s[p-1])
		}
		if p+k > limit {
			return 0, 0, errTruncated
		}
		n = 0
		for i := p; i < p+k; i++ {
			n = n<<8 | int(s[i])
		}
		p += k
	}
	if n > limit-p {
		return 0, 0, errTruncated
	}
	return p, p + n, nil
}
