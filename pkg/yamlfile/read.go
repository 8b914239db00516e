package yamlfile

import (
	"fmt"
	"io"
	"os"
)

// MaxFileSize is the largest config or mapping file guestsync reads: 1 MiB.
// A real config is a few KiB and the largest mapping, with its embedded
// tests, some tens of KiB; a file beyond the limit is a mistake (a log or
// an export named by the wrong key) or hostile, and is refused before it
// is parsed or read whole into memory.
const MaxFileSize = 1 << 20

// ReadFile reads a config or mapping file of at most MaxFileSize bytes. A
// larger file is refused with a Problem naming it and its size; at most
// MaxFileSize+1 bytes of it are read, also when its size is not known in
// advance (a pipe, a file still growing).
func ReadFile(path string) ([]byte, error) {
	return readLimited(path, MaxFileSize)
}

func readLimited(path string, limit int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() && st.Size() > limit {
		return nil, tooLarge(path, st.Size(), limit)
	}
	data, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, Problem{File: path, Msg: fmt.Sprintf("the file is larger than %s (%d bytes), the limit for config and mapping files", size(limit), limit)}
	}
	return data, nil
}

func tooLarge(path string, n, limit int64) Problem {
	return Problem{File: path, Msg: fmt.Sprintf("the file is %d bytes (%s); config and mapping files are limited to %s (%d bytes)", n, size(n), size(limit), limit)}
}

// size renders a byte count the way ls -h would, enough to tell 1 MiB from
// 300 MiB at a glance.
func size(n int64) string {
	for _, u := range []struct {
		n    int64
		name string
	}{{1 << 30, "GiB"}, {1 << 20, "MiB"}, {1 << 10, "KiB"}} {
		if n >= u.n && n%u.n == 0 {
			return fmt.Sprintf("%d %s", n/u.n, u.name)
		}
	}
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}
