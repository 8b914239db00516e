// Package ldif reads directory entries from LDIF files (RFC 2849), such as
// the exports written by `ldifde -f` on Windows and `ldapsearch -LLL`. It is
// guestsync's source when there is no live directory to ask: a file shipped
// with a test, an embedded sample, or an export handed over by an AD team.
//
// Only content records are read. `changetype: add` records, as ldifde
// writes them, are read as plain entries; any other change record is an
// error, because a file of changes does not describe the directory's state.
package ldif

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/guestsync/guestsync/pkg/source"
)

// Reader reads the entries of one LDIF file each time Read is called.
type Reader struct {
	name string
	open func() (io.ReadCloser, error)
}

var _ source.Reader = (*Reader)(nil)

// NewReader returns a Reader that calls open afresh on every Read. name is
// the file name used in messages.
func NewReader(name string, open func() (io.ReadCloser, error)) *Reader {
	return &Reader{name: name, open: open}
}

// FileReader returns a Reader for the LDIF file at path.
func FileReader(path string) *Reader {
	return NewReader(path, func() (io.ReadCloser, error) { return os.Open(path) })
}

// FSReader returns a Reader for the file name in fsys, such as an embed.FS
// holding a sample directory.
func FSReader(fsys fs.FS, name string) *Reader {
	return NewReader(name, func() (io.ReadCloser, error) { return fsys.Open(name) })
}

// Read streams every entry of the file to fn. See Parse for the result.
func (r *Reader) Read(ctx context.Context, fn func(source.Entry) error) (source.Result, error) {
	if err := ctx.Err(); err != nil {
		return source.Result{}, fmt.Errorf("read %s: %w", r.name, err)
	}
	f, err := r.open()
	if err != nil {
		return source.Result{}, fmt.Errorf("open %s: %w", r.name, err)
	}
	res, err := parse(ctx, r.name, f, fn)
	if cerr := f.Close(); cerr != nil && err == nil {
		return source.Result{Entries: res.Entries}, fmt.Errorf("close %s: %w", r.name, cerr)
	}
	return res, err
}

// Parse reads LDIF from r and calls fn with each entry as soon as its record
// ends, so memory holds one record at a time. name is the file name used in
// messages; every error starts with "name:line: ".
//
// Parse stops at the first problem, because a file that is wrong in one
// place cannot be trusted to be complete: the Result then has Complete
// false. Result.Entries counts the entries fn accepted. An error from fn
// stops the read and is returned wrapped with the entry's place and DN.
//
// A read is complete only when the input ends cleanly: with a newline, and
// with an empty line after the last record, as ldapsearch, slapcat, ldifde
// and Writer end them. An input that ends inside a record or a line looks
// cut short (a copy that ran out of space, an export that was stopped):
// the Result is then incomplete, with no error, and says where, and the
// record cut short is not passed to fn. So is an export in which
// ldapsearch's own marks say that the search it ran did not finish (see
// marks). A file cut exactly between two records, with no such marks,
// cannot be told from a whole one.
func Parse(name string, r io.Reader, fn func(source.Entry) error) (source.Result, error) {
	return parse(context.Background(), name, r, fn)
}

func parse(ctx context.Context, name string, r io.Reader, fn func(source.Entry) error) (source.Result, error) {
	lr := newLineReader(name, r)
	lr.marks = &marks{name: name}
	var res source.Result
	for {
		if err := ctx.Err(); err != nil {
			return res, fmt.Errorf("read %s: %w", name, err)
		}
		rec, err := readRecord(lr)
		if cut := (*cutShort)(nil); errors.As(err, &cut) {
			res.Incomplete = cut.why
			return res, nil
		}
		if err != nil {
			return res, err
		}
		switch {
		case rec == nil && lr.cut:
			res.Incomplete = cutInLine(lr, lr.no).Error()
			return res, nil
		case rec == nil:
			if why := lr.marks.end(); why != "" {
				res.Incomplete = why
				return res, nil
			}
			res.Complete = true
			return res, nil
		case rec.result:
			continue
		}
		if err := fn(rec.entry); err != nil {
			return res, fmt.Errorf("%s:%d: entry %q: %w", name, rec.line, rec.entry.DN, err)
		}
		res.Entries++
		lr.marks.entry()
	}
}
