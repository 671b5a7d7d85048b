package term

import (
	"fmt"
	"time"

	"github.com/memsight/memsight/pkg/model"
)

// View is what one frame shows: the Go processes a node's agent knows, each
// with its latest sample when watched.
type View struct {
	Time time.Time
	// Source names where the data comes from ("node vm-1", "agent
	// http://127.0.0.1:9464"); it is printed as is (after Clean).
	Source string
	// Processes are the node's Go processes, watched or not; Sample is nil
	// for processes not watched or not sampled yet.
	Processes []model.Process
}

// Sort orders the table's rows.
type Sort string

// The orders of the table; every one but SortPID puts the largest first.
const (
	SortRSS        Sort = "rss"
	SortHeap       Sort = "heap"
	SortFinQ       Sort = "finq"
	SortGoroutines Sort = "goroutines"
	SortPID        Sort = "pid"
)

// Sorts lists the orders, for flag help and completion.
func Sorts() []Sort { return []Sort{SortRSS, SortHeap, SortFinQ, SortGoroutines, SortPID} }

// ParseSort returns the order named s.
func ParseSort(s string) (Sort, error) {
	for _, k := range Sorts() {
		if string(k) == s {
			return k, nil
		}
	}
	return "", fmt.Errorf("unknown sort %q: use rss, heap, finq, goroutines or pid", s)
}

// Options shape a frame.
type Options struct {
	Sort Sort // default SortRSS
	// Width and Height are the terminal's size in cells; 0 means unbounded
	// (a pipe). Lines longer than Width are cut; with a Height, rows that do
	// not fit are summarised in one line.
	Width, Height int
	// StackFrames bounds the frames printed under a stall finding (default 6).
	StackFrames int
	// Interval is the refresh interval, shown in the header (0: not shown).
	Interval time.Duration
	// Status, when set, is a last line such as why the latest refresh
	// failed (cleaned, and counted in Height).
	Status string
	// History, when set, gives RSS/h a short-term estimate before the
	// detector's growth fit is available; call its Observe for every view.
	History *History
}

func (o Options) withDefaults() Options {
	if o.Sort == "" {
		o.Sort = SortRSS
	}
	if o.StackFrames <= 0 {
		o.StackFrames = 6
	}
	return o
}
