package ldif

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
)

// lineKind says what a logical line is.
type lineKind int

const (
	lineEOF lineKind = iota
	lineBlank
	lineComment
	lineContent
)

// logicalLine is one line after unfolding, with the number of the physical
// line it starts on. cut is set when its last physical line is the end of
// the input with no newline after it: a file cut short ends that way.
type logicalLine struct {
	kind lineKind
	text string
	no   int
	cut  bool
}

type physicalLine struct {
	text string
	no   int
	cut  bool
}

// lineReader turns a byte stream into logical lines: line endings (LF or
// CRLF) and a leading UTF-8 byte order mark removed, continuation lines
// (those starting with one space) joined to the line they continue.
type lineReader struct {
	name string
	br   *bufio.Reader
	no   int           // physical lines read so far
	held *physicalLine // one line of lookahead
	eof  bool
	// cut is set once the last physical line is read and has no newline.
	cut bool
	// marks is told every comment line, for the marks of completeness
	// that ldapsearch writes as comments.
	marks *marks
}

func newLineReader(name string, r io.Reader) *lineReader {
	return &lineReader{name: name, br: bufio.NewReaderSize(r, 64*1024)}
}

// errorf formats a message that names the file and line.
func (lr *lineReader) errorf(line int, format string, args ...any) error {
	return fmt.Errorf("%s:%d: %s", lr.name, line, fmt.Sprintf(format, args...))
}

func (lr *lineReader) physical() (physicalLine, bool, error) {
	if lr.held != nil {
		p := *lr.held
		lr.held = nil
		return p, true, nil
	}
	if lr.eof {
		return physicalLine{}, false, nil
	}
	s, err := lr.br.ReadString('\n')
	if err != nil {
		if !errors.Is(err, io.EOF) {
			return physicalLine{}, false, fmt.Errorf("%s:%d: read: %w", lr.name, lr.no+1, err)
		}
		lr.eof = true
		if s == "" {
			return physicalLine{}, false, nil
		}
	}
	lr.no++
	cut := !strings.HasSuffix(s, "\n")
	lr.cut = lr.cut || cut
	s = strings.TrimSuffix(s, "\n")
	s = strings.TrimSuffix(s, "\r")
	if lr.no == 1 {
		// ldifde and Windows editors may start the file with a BOM.
		s = strings.TrimPrefix(s, "\ufeff")
	}
	return physicalLine{text: s, no: lr.no, cut: cut}, true, nil
}

// next returns the next logical line.
func (lr *lineReader) next() (logicalLine, error) {
	p, ok, err := lr.physical()
	if err != nil {
		return logicalLine{}, err
	}
	if !ok {
		return logicalLine{kind: lineEOF, no: lr.no}, nil
	}
	if strings.TrimLeft(p.text, " ") == "" {
		// A line of spaces where nothing can be continued is most likely
		// an "empty" line with trailing blanks: read it as one.
		return logicalLine{kind: lineBlank, no: p.no, cut: p.cut}, nil
	}
	if p.text[0] == ' ' {
		return logicalLine{}, lr.errorf(p.no, "continuation line (starting with a space) follows a blank line: there is nothing to continue")
	}
	text, cut := p.text, p.cut
	var folded *strings.Builder
	for {
		q, ok, err := lr.physical()
		if err != nil {
			return logicalLine{}, err
		}
		if !ok {
			break
		}
		if q.text == "" || q.text[0] != ' ' {
			lr.held = &q
			break
		}
		if folded == nil {
			folded = &strings.Builder{}
			folded.WriteString(text)
		}
		folded.WriteString(q.text[1:])
		cut = q.cut
	}
	if folded != nil {
		text = folded.String()
	}
	ln := logicalLine{kind: lineContent, text: text, no: p.no, cut: cut}
	if text[0] == '#' {
		ln.kind = lineComment
		if lr.marks != nil {
			lr.marks.comment(ln)
		}
	}
	return ln, nil
}
