package term

import (
	"fmt"
	"io"
	"time"

	"github.com/memsight/memsight/pkg/model"
)

// RenderLeaks writes the table view of `memsight goroutines --leaks`: what
// the marks read, the leaked groups, and up to maxStack frames of each.
func RenderLeaks(w io.Writer, t Target, r *model.LeakReport, maxStack int) {
	fmt.Fprintf(w, "memsight goroutines %d --leaks (%s, %s)   %s\n", t.PID, t.Comm, t.GoVersion, t.Time.Format("15:04:05"))
	fmt.Fprintf(w, "%d goroutines, %d blocked on a channel or sync primitive; %d marks in %.2fs, %s read, %d objects (%s) reachable\n",
		r.Goroutines, r.Blocked, r.Mark.Marks, r.Mark.Seconds, HumanBytes(r.Mark.BytesRead), r.Mark.ObjectsMarked, HumanBytes(r.Mark.BytesMarked))
	for _, c := range r.Mark.Conservative {
		fmt.Fprintf(w, "scanned conservatively (can only hide a leak): %s\n", c)
	}
	if len(r.Leaks) == 0 {
		fmt.Fprintln(w, "\nno leaked goroutine: every blocked goroutine waits on something a live goroutine or a global can reach")
		if r.Mark.Unconfirmed > 0 {
			fmt.Fprintf(w, "(%d goroutines looked leaked to one mark only: not reported)\n", r.Mark.Unconfirmed)
		}
		return
	}
	total := 0
	for _, l := range r.Leaks {
		total += l.Count
	}
	fmt.Fprintf(w, "\nLEAKED GOROUTINES: %d in %d groups\n", total, len(r.Leaks))
	tw := NewTable(w, "COUNT", "WAIT REASON", "OLDEST", "PINNED", "FUNCTION", "CREATED AT")
	for _, l := range r.Leaks {
		oldest := "-"
		if l.OldestWaitSeconds != nil {
			oldest = "~" + time.Duration(*l.OldestWaitSeconds*1e9).Round(time.Second).String()
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", l.Count, l.WaitReason, oldest, HumanBytes(l.BytesPinnedEstimate), l.Function, l.CreationSite)
	}
	tw.Flush()
	if maxStack == 0 {
		return
	}
	for _, l := range r.Leaks {
		fmt.Fprintf(w, "\n%d × [%s] goroutine %d:\n", l.Count, l.WaitReason, l.Goids[0])
		for i, f := range l.Stack {
			if i == maxStack {
				fmt.Fprintf(w, "\t... %d more frames\n", len(l.Stack)-maxStack)
				break
			}
			fmt.Fprintf(w, "\t%s\n", f)
		}
		fmt.Fprintf(w, "\tcreated by %s\n", l.CreationSite)
	}
	if r.Mark.Unconfirmed > 0 {
		fmt.Fprintf(w, "\n(%d more goroutines looked leaked to one mark only: not reported)\n", r.Mark.Unconfirmed)
	}
}
