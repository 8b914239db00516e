package state

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/guestsync/guestsync/pkg/account"
	"github.com/guestsync/guestsync/pkg/atomicfile"
)

// The guests file holds every guest of a tenant as of a delta link, read
// on every run: at 100,000 guests its format decides a good share of an
// incremental run's time (JSON took 0.64 s to read, gob 0.21 s, this one
// less). It is a private cache, not an interface:
//
//	"guestsync guests 1\n", uvarint count, count × guest, "end\n"
//
// and a guest is a flags byte (1 owned, 2 deleted), then ID, Anchor and
// Source, then uvarint n and n × (name, value) properties, then the
// CreateOnly and Redacted lists (uvarint n and n names each). A string is
// a uvarint length and its bytes.
const (
	guestsMagic   = "guestsync guests 1\n"
	guestsTrailer = "end\n"
	// maxGuestString bounds one string, so that a damaged length never
	// asks for a huge allocation.
	maxGuestString = 1 << 20
)

// writeGuests writes guests to a new file next to path, atomically, and
// returns its name.
func writeGuests(path string, guests []account.Account) (string, error) {
	name := fmt.Sprintf("%s.guests-%d", filepath.Base(path), time.Now().UnixNano())
	err := atomicfile.WriteFunc(filepath.Join(filepath.Dir(path), name), 0o600, func(w io.Writer) error {
		return encodeGuests(w, guests)
	})
	return name, err
}

// encodeGuests writes the guests file's content.
func encodeGuests(w io.Writer, guests []account.Account) error {
	bw := bufio.NewWriterSize(w, 256<<10)
	var num [binary.MaxVarintLen64]byte
	uvarint := func(n int) { bw.Write(num[:binary.PutUvarint(num[:], uint64(n))]) }
	str := func(s string) { uvarint(len(s)); bw.WriteString(s) }
	list := func(l []string) {
		uvarint(len(l))
		for _, s := range l {
			str(s)
		}
	}
	bw.WriteString(guestsMagic)
	uvarint(len(guests))
	for i := range guests {
		g := &guests[i]
		var flags byte
		if g.Owned {
			flags |= 1
		}
		if g.Deleted {
			flags |= 2
		}
		bw.WriteByte(flags)
		str(g.ID)
		str(g.Anchor)
		str(g.Source)
		uvarint(len(g.Properties))
		for k, v := range g.Properties {
			str(k)
			str(v)
		}
		list(g.CreateOnly)
		list(g.Redacted)
	}
	bw.WriteString(guestsTrailer)
	return bw.Flush()
}

// readGuests reads a guests file.
func readGuests(path string) ([]account.Account, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	out, err := decodeGuests(f, info.Size())
	if err != nil {
		return nil, fmt.Errorf("%s: guest %d: %w", path, len(out)+1, err)
	}
	return out, nil
}

// minGuestBytes is the size of the smallest guest in a guests file: the
// flags byte and six empty lengths or counts.
const minGuestBytes = 7

// decodeGuests reads a guests file's content of size bytes. Counts and
// lengths are checked against size before anything is allocated for
// them, so that a damaged file costs at most a small multiple of its own
// size, whatever its counts promise.
func decodeGuests(r io.Reader, size int64) ([]account.Account, error) {
	g := &guestReader{r: bufio.NewReaderSize(r, int(min(max(size, 16), 256<<10))), size: size, names: map[string]string{}}
	return g.all()
}

type guestReader struct {
	r     *bufio.Reader
	size  int64 // of the whole file: no string or count is larger
	buf   []byte
	err   error
	names map[string]string // property names, stored once
}

func (g *guestReader) all() ([]account.Account, error) {
	magic := make([]byte, len(guestsMagic))
	if _, err := io.ReadFull(g.r, magic); err != nil || string(magic) != guestsMagic {
		return nil, errors.New("not a guestsync guests file")
	}
	n := g.uvarint()
	if g.err == nil && int64(n) > g.size/minGuestBytes {
		return nil, fmt.Errorf("%d guests do not fit in a file of %d bytes", n, g.size)
	}
	out := make([]account.Account, 0, n)
	for i := 0; i < n && g.err == nil; i++ {
		var x account.Account
		flags, err := g.r.ReadByte()
		if err != nil {
			g.err = err
			break
		}
		x.Owned, x.Deleted = flags&1 != 0, flags&2 != 0
		x.ID, x.Anchor, x.Source = g.str(), g.str(), g.str()
		props := g.uvarint()
		if props > 0 && g.err == nil {
			x.Properties = make(map[string]string, min(props, 64))
		} else {
			x.Properties = map[string]string{}
		}
		for j := 0; j < props && g.err == nil; j++ {
			k := g.name()
			x.Properties[k] = g.str()
		}
		x.CreateOnly, x.Redacted = g.list(), g.list()
		if g.err == nil {
			out = append(out, x)
		}
	}
	if g.err != nil {
		return out, unexpected(g.err)
	}
	end := make([]byte, len(guestsTrailer))
	if _, err := io.ReadFull(g.r, end); err != nil || string(end) != guestsTrailer {
		return out, errors.New("the file does not end where its count says")
	}
	return out, nil
}

func unexpected(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

func (g *guestReader) uvarint() int {
	if g.err != nil {
		return 0
	}
	n, err := binary.ReadUvarint(g.r)
	if err != nil {
		g.err = err
		return 0
	}
	if n > uint64(g.size) {
		g.err = fmt.Errorf("a length or count of %d does not fit in a file of %d bytes", n, g.size)
		return 0
	}
	return int(n)
}

// bytes reads one string's bytes into a reused buffer.
func (g *guestReader) bytes() []byte {
	n := g.uvarint()
	if g.err != nil {
		return nil
	}
	if n > maxGuestString {
		g.err = fmt.Errorf("a string of %d bytes is not plausible", n)
		return nil
	}
	if cap(g.buf) < n {
		g.buf = make([]byte, n)
	}
	b := g.buf[:n]
	if _, err := io.ReadFull(g.r, b); err != nil {
		g.err = err
		return nil
	}
	return b
}

func (g *guestReader) str() string {
	b := g.bytes()
	if len(b) == 0 {
		return ""
	}
	return string(b)
}

// name reads a property name, stored once however many guests have it.
func (g *guestReader) name() string {
	b := g.bytes()
	if s, ok := g.names[string(b)]; ok {
		return s
	}
	s := string(b)
	g.names[s] = s
	return s
}

func (g *guestReader) list() []string {
	n := g.uvarint()
	if n == 0 || g.err != nil {
		return nil
	}
	out := make([]string, 0, min(n, 64))
	for i := 0; i < n && g.err == nil; i++ {
		out = append(out, g.name())
	}
	return out
}
