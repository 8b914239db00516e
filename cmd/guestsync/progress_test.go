package main

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestProgressOnATerminal(t *testing.T) {
	t.Parallel()
	var tty bytes.Buffer
	clock := time.Date(2026, 11, 24, 2, 0, 0, 0, time.UTC)
	p := newProgress(&tty, nil)
	p.now = func() time.Time { return clock }
	p.report("apply", 0, 1000)
	clock = clock.Add(100 * time.Millisecond)
	p.report("apply", 10, 1000) // too soon: not drawn
	clock = clock.Add(time.Second)
	p.report("apply", 500, 1000)
	clock = clock.Add(time.Second)
	p.report("apply", 1000, 1000)
	out := tty.String()
	assert.Equal(t, 2, strings.Count(out, "\r\x1b[K"), "drawn twice: %q", out)
	assert.Contains(t, out, "apply        [###############               ] 500/1000  50% (455/s)")
	assert.True(t, strings.HasSuffix(out, "1000/1000 100% (476/s)\n"), "the finished bar ends its line: %q", out)
}

func TestProgressInALog(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	clock := time.Date(2026, 11, 24, 2, 0, 0, 0, time.UTC)
	p := newProgress(nil, slog.New(slog.NewTextHandler(&logs, nil)))
	p.now = func() time.Time { return clock }
	p.report("read source", 0, 0)
	for i := 1; i <= 30; i++ {
		clock = clock.Add(time.Second)
		p.report("read source", i*1000, 0)
	}
	assert.Equal(t, 3, strings.Count(logs.String(), "msg=progress"), "one line every 10 s: %s", logs.String())
	assert.Contains(t, logs.String(), `msg=progress phase="read source" done=10000 total=0 perSecond=1000`)
}

// TestProgressBetweenReports: a phase that waits (a chunk of writes under
// throttling) still logs a line every interval, from the ticker, with the
// last count; ticks carry their time, as time.Ticker's do.
func TestProgressBetweenReports(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	clock := time.Date(2026, 11, 24, 2, 0, 0, 0, time.UTC)
	ticks := make(chan time.Time)
	p := newProgress(nil, slog.New(slog.NewTextHandler(&logs, nil)))
	p.now = func() time.Time { return clock }
	p.ticker = func(time.Duration) (<-chan time.Time, func()) { return ticks, func() {} }
	// Each tick is shown before the test goes on, as it would be long
	// before the engine's next report.
	shown := make(chan struct{})
	p.ticked = func() { shown <- struct{}{} }
	tick := func(at time.Time) { ticks <- at; <-shown }
	p.start()
	tick(clock.Add(10 * time.Second)) // no phase yet: nothing to say
	p.report("apply", 0, 1000)
	p.report("apply", 400, 1000) // the first chunk: too soon for a line
	for i := 1; i <= 3; i++ {
		tick(clock.Add(time.Duration(i) * 10 * time.Second))
	}
	tick(clock.Add(35 * time.Second)) // within the interval of the last line
	p.stop()
	out := logs.String()
	assert.Equal(t, 3, strings.Count(out, "msg=progress"), "one line every 10 s between chunks: %s", out)
	assert.Contains(t, out, `msg=progress phase=apply done=400 total=1000 perSecond=40 elapsed=10s`)
	assert.Contains(t, out, `msg=progress phase=apply done=400 total=1000 perSecond=13 elapsed=30s`)
}

// A phase that goes on past the engine's estimate (the directory grew
// since the last read) keeps its pace: in a log, one line every interval
// however far past the total it is; on a terminal, the bar's line ends
// once, when the total is first reached, and is then redrawn in place.
func TestProgressPastItsTotal(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 11, 24, 2, 0, 0, 0, time.UTC)
	t.Run("log", func(t *testing.T) {
		var logs bytes.Buffer
		clock := start
		p := newProgress(nil, slog.New(slog.NewTextHandler(&logs, nil)))
		p.now = func() time.Time { return clock }
		p.report("read source", 0, 1000)
		for i := 1; i <= 30; i++ { // 100 entries a second, 3,000 in all
			clock = clock.Add(time.Second)
			p.report("read source", i*100, 1000)
		}
		assert.Equal(t, 3, strings.Count(logs.String(), "msg=progress"), "one line every 10 s: %s", logs.String())
		assert.Contains(t, logs.String(), `done=3000 total=1000`)
	})
	t.Run("terminal", func(t *testing.T) {
		var tty bytes.Buffer
		clock := start
		p := newProgress(&tty, nil)
		p.now = func() time.Time { return clock }
		p.report("read source", 0, 1000)
		for i := 1; i <= 2000; i++ { // 1,000 a second
			clock = clock.Add(time.Millisecond)
			p.report("read source", i, 1000)
		}
		p.stop()
		out := tty.String()
		assert.Equal(t, 2, strings.Count(out, "\n"), "the line ends when the total is reached and when the phase stops: %q", out)
		assert.Equal(t, 10, strings.Count(out, "\r\x1b[K"), "drawn every 200 ms and once at the total: %q", out)
	})
}
