package main

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"
)

// progressInterval is how often the bar is redrawn at most.
const progressInterval = 100 * time.Millisecond

// terminalWidth returns a function reporting w's width in columns if w is a
// terminal, and nil otherwise.
func terminalWidth(w io.Writer) func() int {
	if !isTerminal(w) {
		return nil
	}
	f := w.(*os.File)
	return func() int {
		cols, _, err := term.GetSize(int(f.Fd()))
		if err != nil || cols <= 0 {
			return 80
		}
		return cols
	}
}

// progress draws a transfer's progress on one terminal line. A nil
// *progress draws nothing, so that callers need not check for a terminal.
type progress struct {
	mu    sync.Mutex // the transport may read an upload's body on its own goroutine
	w     io.Writer
	width func() int
	now   func() time.Time
	label string
	total int64 // -1 when unknown
	done  int64
	start time.Time
	drawn time.Time
}

// progress returns a progress bar on stderr for a transfer of total bytes
// (-1 if unknown), or nil when stderr is not a terminal.
func (e *env) progress(label string, total int64) *progress {
	if e.progressWidth == nil {
		return nil
	}
	return &progress{w: e.stderr, width: e.progressWidth, now: time.Now, label: label, total: total, start: time.Now()}
}

// Write counts n bytes done, for use with io.TeeReader.
func (p *progress) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done += int64(len(b))
	if now := p.now(); now.Sub(p.drawn) >= progressInterval {
		p.drawn = now
		fmt.Fprint(p.w, "\r"+p.render(p.width(), now.Sub(p.start)))
	}
	return len(b), nil
}

// reader counts what is read from r.
func (p *progress) reader(r io.Reader) io.Reader {
	if p == nil {
		return r
	}
	return io.TeeReader(r, p)
}

// finish draws the final state and ends the line.
func (p *progress) finish() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprint(p.w, "\r"+p.render(p.width(), p.now().Sub(p.start))+"\n")
}

// render returns the progress line, exactly width-1 columns wide so that
// the terminal does not wrap: "label [=====>    ]  42%  1.2 MiB/3.0 MiB  5.1 MiB/s".
func (p *progress) render(width int, elapsed time.Duration) string {
	width--
	if width < 1 {
		return ""
	}
	var stats string
	rate := ""
	if elapsed > 0 {
		rate = "  " + size(int64(float64(p.done)/elapsed.Seconds())) + "/s"
	}
	if p.total >= 0 {
		stats = fmt.Sprintf("  %3d%%  %s/%s%s", percent(p.done, p.total), size(p.done), size(p.total), rate)
	} else {
		stats = fmt.Sprintf("  %s%s", size(p.done), rate)
	}
	// The label gets what the stats and a bar of 10 leave, within
	// [width/4, 40].
	reserve := 1
	if p.total >= 0 {
		reserve = 14
	}
	label := []rune(clean(p.label))
	if max := min(max(width-len(stats)-reserve, width/4), 40); len(label) > max {
		if max > 3 {
			label = append(label[:max-3], '.', '.', '.')
		} else {
			label = label[:max]
		}
	}
	line := string(label)
	if bar := width - len(label) - len(stats) - 4; p.total >= 0 && bar >= 10 {
		line += " " + drawBar(bar, percent(p.done, p.total)) + " "
	}
	line += stats
	runes := []rune(line)
	if len(runes) > width {
		return string(runes[:width])
	}
	return line + strings.Repeat(" ", width-len(runes))
}

// drawBar draws a bar of n columns inside brackets, pct percent full.
func drawBar(n, pct int) string {
	full := n * pct / 100
	s := strings.Repeat("=", full)
	if full < n {
		s += ">" + strings.Repeat(" ", n-full-1)
	}
	return "[" + s + "]"
}

func percent(done, total int64) int {
	if total <= 0 {
		return 100
	}
	return int(min(100, done*100/total))
}
