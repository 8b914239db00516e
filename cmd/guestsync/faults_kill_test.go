package main

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/stretchr/testify/require"
)

// TestFaultsKill9 runs sync as a process of its own and kills it with
// SIGKILL at points the emulator sees: the tenant read, before and after
// the first batch of writes is answered, and in the middle of apply. The
// invariants hold after each kill and the next run converges.
func TestFaultsKill9(t *testing.T) {
	t.Parallel()
	base := seedFor(t, "GUESTSYNC_FAULTS_SEED")
	tests := []struct {
		name string
		// at reports whether to kill at this request; after, whether the
		// request is answered first.
		at    func(r *http.Request, batches int) bool
		after bool
		// state kills when the run creates a file next to the state file
		// (the new guests file or the state's temporary file).
		state bool
	}{
		{"while-state-written", func(*http.Request, int) bool { return false }, false, true},
		{"during-tenant-read", func(r *http.Request, _ int) bool {
			return strings.Contains(r.URL.Path, "/users") && r.Method == http.MethodGet
		}, false, false},
		{"before-first-batch-answered", func(r *http.Request, b int) bool { return b == 1 }, false, false},
		{"after-first-batch-answered", func(r *http.Request, b int) bool { return b == 1 }, true, false},
		{"mid-apply", func(r *http.Request, b int) bool { return b == 3 }, true, false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			seed := base + uint64(i)
			w := newWorld(t, seed, 40, "")
			w.baseline()
			w.change(80, 4, 3, 3)
			w.tamper(2, 2, 0)

			cmd := osexec.Command(os.Args[0], "sync", "--config", w.cfg, "--log-level", "warn")
			cmd.Env = childEnv()
			var output bytes.Buffer
			cmd.Stdout, cmd.Stderr = &output, &output
			var mu sync.Mutex
			batches, killed := 0, false
			kill := func() {
				if !killed {
					killed = true
					_ = cmd.Process.Signal(syscall.SIGKILL)
				}
			}
			w.tn.setHook(func(rw http.ResponseWriter, r *http.Request, serve func()) {
				mu.Lock()
				if strings.HasSuffix(r.URL.Path, "/$batch") {
					batches++
				}
				hit := !killed && tt.at(r, batches)
				if hit && !tt.after {
					kill()
				}
				mu.Unlock()
				serve()
				if hit && tt.after {
					mu.Lock()
					kill()
					mu.Unlock()
				}
			})
			before := w.tn.snapshot()
			if tt.state {
				watchState(t, filepath.Dir(w.state), func() { mu.Lock(); kill(); mu.Unlock() })
			}
			require.NoError(t, cmd.Start())
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			select {
			case <-done:
			case <-time.After(2 * time.Minute):
				kill()
				<-done
			}
			mu.Lock()
			require.True(t, killed, "seed %d: the kill point was reached:\n%s", seed, output.String())
			mu.Unlock()
			// Requests the process sent before it died finish in the
			// emulator: stop it to wait for them, then start it again.
			w.tn.stop()
			w.tn.setHook(nil)
			w.tn.start()
			names, _ := os.ReadDir(filepath.Dir(w.state))
			t.Logf("killed %s after %d batches; the state folder holds %v", tt.name, batches, names)
			w.check(&syncRun{args: []string{fmt.Sprint("killed ", tt.name)}, killed: true}, before, readGood)
			w.converge()
		})
	}
}

// watchState calls kill when a file other than the lock is created in dir
// (inotify): the run is writing its state.
func watchState(t *testing.T, dir string, kill func()) {
	t.Helper()
	require.NoError(t, os.MkdirAll(dir, 0o700))
	fd, err := syscall.InotifyInit1(syscall.IN_CLOEXEC)
	require.NoError(t, err)
	_, err = syscall.InotifyAddWatch(fd, dir, syscall.IN_CREATE)
	require.NoError(t, err)
	go func() {
		defer syscall.Close(fd)
		buf := make([]byte, 4096)
		for {
			n, err := syscall.Read(fd, buf)
			if err != nil || n <= 0 {
				return
			}
			for off := 0; off+syscall.SizeofInotifyEvent <= n; {
				ev := (*syscall.InotifyEvent)(unsafe.Pointer(&buf[off]))
				name := strings.TrimRight(string(buf[off+syscall.SizeofInotifyEvent:off+syscall.SizeofInotifyEvent+int(ev.Len)]), "\x00")
				off += syscall.SizeofInotifyEvent + int(ev.Len)
				if !strings.HasSuffix(name, ".lock") {
					kill()
					return
				}
			}
		}
	}()
}
