package main

import (
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"
)

// progress shows how far a long phase has got: on a terminal, one line
// redrawn in place with the count, the share done and the rate; otherwise
// (cron, CI, a pipe) a log line every interval, so that a long run is seen
// to be alive without flooding the log. Between start and stop a ticker
// shows the last count again every interval, so that a phase waiting on a
// slow answer (a Graph listing, a chunk of writes under throttling) is
// seen too, not only the moments the engine reports.
type progress struct {
	tty      io.Writer // set when stderr is a terminal
	log      *slog.Logger
	interval time.Duration
	now      func() time.Time
	// ticker makes the ticker of start: a channel of tick times, and its
	// stop.
	ticker func(time.Duration) (<-chan time.Time, func())
	// ticked, when set (tests), is called after each tick is shown.
	ticked func()

	// mu guards what follows: the engine reports from its goroutine, the
	// ticker from start's.
	mu            sync.Mutex
	phase         string
	done, total   int
	started, last time.Time
	drawn         bool
	reached       bool // the phase's count has reached its total once
	quit          chan struct{}
	stopped       sync.WaitGroup
}

func newProgress(tty io.Writer, log *slog.Logger) *progress {
	interval := 10 * time.Second
	if tty != nil {
		interval = 200 * time.Millisecond
	}
	return &progress{tty: tty, log: log, interval: interval, now: time.Now, ticker: func(d time.Duration) (<-chan time.Time, func()) {
		t := time.NewTicker(d)
		return t.C, t.Stop
	}}
}

// start runs the ticker until stop.
func (p *progress) start() {
	ticks, stopTicker := p.ticker(p.interval)
	p.quit = make(chan struct{})
	p.stopped.Add(1)
	go func() {
		defer p.stopped.Done()
		defer stopTicker()
		for {
			select {
			case now := <-ticks:
				p.mu.Lock()
				if p.phase != "" {
					p.show(now)
				}
				p.mu.Unlock()
				if p.ticked != nil {
					p.ticked()
				}
			case <-p.quit:
				return
			}
		}
	}()
}

// stop ends the ticker and the line drawn in place.
func (p *progress) stop() {
	if p.quit != nil {
		close(p.quit)
		p.stopped.Wait()
		p.quit = nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.finishLine()
}

// report is an engine.Progress.
func (p *progress) report(phase string, done, total int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	if phase != p.phase {
		p.finishLine()
		p.phase, p.started, p.last = phase, now, now
		p.done, p.total, p.reached = done, total, false
		return
	}
	p.done, p.total = done, total
	p.show(now)
}

// show draws or logs the current count at now, when an interval has passed
// since it last did. The total is the engine's estimate (the last read's
// count): a phase can go on past it (the directory grew), so reaching it
// ends nothing but the bar's first pass, which a terminal line shows at
// once and ends. A log line comes every interval while the phase lasts.
func (p *progress) show(now time.Time) {
	reached := p.total > 0 && p.done >= p.total && !p.reached
	if now.Sub(p.last) < p.interval && !(reached && p.tty != nil) {
		return
	}
	p.last = now
	rate := 0.0
	if s := now.Sub(p.started).Seconds(); s > 0 {
		rate = float64(p.done) / s
	}
	if p.tty == nil {
		p.log.Info("progress", "phase", p.phase, "done", p.done, "total", p.total, "perSecond", int(rate),
			"elapsed", now.Sub(p.started).Round(time.Second).String())
		return
	}
	fmt.Fprintf(p.tty, "\r\x1b[K%s", bar(p.phase, p.done, p.total, rate))
	p.drawn = true
	if reached {
		p.reached = true
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
