// Package atomicfile replaces files so that readers and crashes see either
// the old content or the new, never a mix: the state, the guests files,
// saved plans, reports, metrics for node_exporter's textfile collector and
// the emulator's CA file are all read by something that must not see half
// of one.
package atomicfile

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// tempInfix separates a temporary file's target name from CreateTemp's
// random suffix: the temporary file of NAME is ".NAME.tmp-RANDOM".
const tempInfix = ".tmp-"

// Write replaces path with data: a temporary file in the same folder,
// fsync, rename over the old file, fsync of the folder. Missing folders
// are created, readable by their owner only.
func Write(path string, data []byte, perm fs.FileMode) error {
	return WriteFunc(path, perm, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}

// WriteFunc is Write for content that write streams.
func WriteFunc(path string, perm fs.FileMode, write func(io.Writer) error) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+tempInfix+"*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if err := write(tmp); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: fsync: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	// The rename is durable only once the folder is synced.
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// TempOf returns the name of the file that the file called name is a
// temporary of, when it is one that Write or WriteFunc makes: a write
// killed before its rename (kill -9, a power cut) leaves it behind, and
// only the owner of the target knows when it is safe to remove.
func TempOf(name string) (target string, ok bool) {
	rest, ok := strings.CutPrefix(name, ".")
	if !ok {
		return "", false
	}
	i := strings.LastIndex(rest, tempInfix)
	if i <= 0 || i+len(tempInfix) == len(rest) {
		return "", false
	}
	return rest[:i], true
}
