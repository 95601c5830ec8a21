package main

import (
	"fmt"
	"math"
	"os"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"

	"github.com/custodyhq/custody/internal/fetch"
)

// progress shows long work: a bar when stderr is a terminal, otherwise a
// log line at most every logEvery, so unattended runs leave a trace.
type progress struct {
	g     *globalOptions
	label string
	start time.Time
	now   func() time.Time // the clock (time.Now); tests set it

	mu      sync.Mutex
	bar     *progressbar.ProgressBar
	lastLog time.Time
	total   int
	done    int

	// The first Update's done and time: a resumed run's done counts the
	// work of earlier invocations, which took none of this one's time,
	// so the rate the ETA rests on is of what was done since.
	based  bool
	base   int
	baseAt time.Time
	// recent holds (time, done) at the Updates of about the last
	// etaWindow, oldest first: the ETA rests on the recent rate, not the
	// average since the start (a run's first minute is its allowance
	// spent as a burst, then the pace: the average promised 10 s with 48 s
	// left; a 90 s Retry-After then promised 52 minutes).
	recent []progressSample

	loggedDone int // done at the last log line, so the final count is logged once

	// tty is stderrIsTerminal, asked once: a diff counts every file it
	// compares (163,284 in the million-message benchmark), and each asking
	// is an ioctl and, through os.File.Fd, two fcntl calls on the diff's
	// serial path.
	tty     bool
	ttyOnce sync.Once
}

const logEvery = 10 * time.Second

// etaWindow is how far back the ETA's rate is measured, and etaMinItems
// how many items this invocation must have done before it is given: the
// first few say more about the start (a burst, a pause) than the rate.
const (
	etaWindow   = time.Minute
	etaMinItems = 3
)

type progressSample struct {
	at   time.Time
	done int
}

func newProgress(g *globalOptions, label string) *progress {
	return &progress{g: g, label: label, start: time.Now(), now: time.Now}
}

// barShown reports whether progress shows a bar (stderr a terminal, text logs).
func (p *progress) barShown() bool {
	p.ttyOnce.Do(func() { p.tty = stderrIsTerminal(p.g) })
	return p.tty && p.g.LogFormat == "text"
}

func stderrIsTerminal(g *globalOptions) bool {
	f, ok := g.stderr.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// eta is the time left for total-done more items at the rate of this
// invocation's recent work: over the last etaWindow, measured from the
// latest Update at or before its start (from the invocation's first
// Update while it is younger than that). False until this invocation has
// done etaMinItems, when nothing was done over the window (a pause:
// unknown, not a wild figure), or when nothing is left.
func (p *progress) eta(now time.Time, done, total int) (time.Duration, bool) {
	if done-p.base < etaMinItems || done >= total {
		return 0, false
	}
	from := progressSample{p.baseAt, p.base}
	for _, s := range p.recent {
		if s.at.After(now.Add(-etaWindow)) {
			break
		}
		from = s
	}
	n := done - from.done
	if n <= 0 || !now.After(from.at) {
		return 0, false
	}
	return time.Duration(float64(now.Sub(from.at)) / float64(n) * float64(total-done)), true
}

// sample records done at now for eta, dropping samples it no longer needs
// (all but the latest one at or before the window's start).
func (p *progress) sample(now time.Time, done int) {
	p.recent = append(p.recent, progressSample{now, done})
	start := now.Add(-etaWindow)
	i := 0
	for i+1 < len(p.recent) && !p.recent[i+1].at.After(start) {
		i++
	}
	p.recent = p.recent[i:]
}

// Update implements export.Progress.
func (p *progress) Update(done, total int, st fetch.Stats) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	if !p.based {
		p.based, p.base, p.baseAt = true, done, now
	}
	p.done, p.total = done, total
	p.sample(now, done)
	eta, etaOK := p.eta(now, done, total)
	if p.barShown() {
		if p.bar == nil || p.bar.GetMax() != total {
			if p.bar != nil {
				_ = p.bar.Finish()
			}
			p.bar = progressbar.NewOptions(total,
				progressbar.OptionSetWriter(p.g.stderr),
				progressbar.OptionSetDescription(p.label),
				progressbar.OptionShowCount(),
				// The bar's own prediction counts a resumed run's
				// earlier work as done in this invocation's time: the
				// ETA is in the description instead.
				progressbar.OptionSetPredictTime(false),
				progressbar.OptionSetElapsedTime(true),
				progressbar.OptionShowElapsedTimeOnFinish(),
				progressbar.OptionThrottle(200*time.Millisecond),
				progressbar.OptionClearOnFinish(),
			)
		}
		desc := fmt.Sprintf("%s  req %d  429 %d", p.label, st.Requests, st.RateLimited)
		if etaOK {
			desc += "  eta " + eta.Round(time.Second).String()
		}
		p.bar.Describe(desc)
		_ = p.bar.Set(done)
		return
	}
	if now.Sub(p.lastLog) >= logEvery || done == total && p.loggedDone != done {
		p.lastLog, p.loggedDone = now, done
		args := []any{"done", done, "total", total, "requests", st.Requests, "rate_limited", st.RateLimited, "retries", st.Retries}
		if etaOK {
			args = append(args, "eta", eta.Round(time.Second).String())
		}
		p.g.log.Info(p.label+" progress", args...)
	}
}

// Finish clears the bar.
func (p *progress) Finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.bar != nil {
		_ = p.bar.Finish()
	}
}

// Count follows work whose total is unknown until it ends (a diff walks
// the export as it goes): a spinner with the count on a terminal,
// otherwise a log line at most every logEvery.
func (p *progress) Count(done int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done = done
	if p.barShown() {
		if p.bar == nil {
			p.bar = progressbar.NewOptions(-1,
				progressbar.OptionSetWriter(p.g.stderr),
				progressbar.OptionSetDescription(p.label),
				progressbar.OptionShowCount(),
				progressbar.OptionShowIts(),
				progressbar.OptionSetItsString("files"),
				progressbar.OptionThrottle(200*time.Millisecond),
				progressbar.OptionClearOnFinish(),
			)
		}
		_ = p.bar.Set(done)
		return
	}
	if now := time.Now(); now.Sub(p.lastLog) >= logEvery {
		if p.lastLog.IsZero() { // the first call starts the clock
			p.lastLog = now
			return
		}
		p.lastLog = now
		elapsed := now.Sub(p.start)
		p.g.log.Info(p.label+" progress", "done", done, "elapsed", elapsed.Round(time.Second).String(),
			"per_second", perSecond(done, elapsed))
	}
}

// perSecond is done over elapsed, rounded: how fast long work goes, for a
// total that is not known yet (a diff's files).
func perSecond(done int, elapsed time.Duration) int {
	if elapsed <= 0 {
		return 0
	}
	return int(math.Round(float64(done) / elapsed.Seconds()))
}
