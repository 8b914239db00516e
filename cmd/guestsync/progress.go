package main

import (
	"fmt"
	"io"
	"log/slog"
	"time"
)

// progress shows how far a long phase has got: on a terminal, one line
// redrawn in place with the count, the share done and the rate; otherwise
// (cron, CI, a pipe) a log line every interval, so that a long run is seen
// to be alive without flooding the log.
type progress struct {
	tty      io.Writer // set when stderr is a terminal
	log      *slog.Logger
	interval time.Duration
	now      func() time.Time

	phase         string
	started, last time.Time
	drawn         bool
}

func newProgress(tty io.Writer, log *slog.Logger) *progress {
	interval := 10 * time.Second
	if tty != nil {
		interval = 200 * time.Millisecond
	}
	return &progress{tty: tty, log: log, interval: interval, now: time.Now}
}

// report is an engine.Progress.
func (p *progress) report(phase string, done, total int) {
	now := p.now()
	if phase != p.phase {
		p.finishLine()
		p.phase, p.started, p.last = phase, now, now
		return
	}
	finished := total > 0 && done >= total
	if now.Sub(p.last) < p.interval && !finished {
		return
	}
	p.last = now
	rate := 0.0
	if s := now.Sub(p.started).Seconds(); s > 0 {
		rate = float64(done) / s
	}
	if p.tty == nil {
		if !finished { // the phase's own log line says when it is done
			p.log.Info("progress", "phase", phase, "done", done, "total", total, "perSecond", int(rate))
		}
		return
	}
	fmt.Fprintf(p.tty, "\r\x1b[K%s", bar(phase, done, total, rate))
	p.drawn = true
	if finished {
		p.finishLine()
	}
}

// finishLine ends a line drawn in place, so that logs start on their own.
func (p *progress) finishLine() {
	if p.drawn {
		fmt.Fprintln(p.tty)
		p.drawn = false
	}
}

// bar renders one progress line: a 30-cell bar when the total is known.
func bar(phase string, done, total int, rate float64) string {
	if total <= 0 {
		return fmt.Sprintf("%-12s %d (%.0f/s)", phase, done, rate)
	}
	const width = 30
	filled := min(width, done*width/total)
	cells := make([]byte, width)
	for i := range cells {
		cells[i] = ' '
		if i < filled {
			cells[i] = '#'
		}
	}
	return fmt.Sprintf("%-12s [%s] %d/%d %3d%% (%.0f/s)", phase, cells, done, total, min(100, done*100/total), rate)
}
