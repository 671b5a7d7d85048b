package term

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// bytes formats a byte count compactly with binary units: 512B, 31.5M, 1.2G
// (K, M, G are KiB, MiB, GiB).
func bytes(b uint64) string {
	if b < 1024 {
		return strconv.FormatUint(b, 10) + "B"
	}
	v, unit := float64(b), 0
	for v >= 1024 && unit < 5 {
		v /= 1024
		unit++
	}
	return number(v) + string("BKMGTP"[unit])
}

// number formats v with one decimal below 100, none above.
func number(v float64) string {
	if v < 99.95 {
		return strconv.FormatFloat(v, 'f', 1, 64)
	}
	return strconv.FormatFloat(v, 'f', 0, 64)
}

// signedBytes formats a growth: +2.3M, -512K, 0.
func signedBytes(v float64) string {
	switch {
	case math.Abs(v) < 1:
		return "0"
	case v < 0:
		return "-" + bytes(uint64(-v))
	}
	return "+" + bytes(uint64(v))
}

// age formats seconds as 850ms, 12.3s, 4m05s, 2h10m.
func age(sec float64) string {
	d := time.Duration(sec * float64(time.Second))
	switch {
	case d < time.Second:
		return fmt.Sprintf("%dms", d.Milliseconds())
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", d.Seconds())
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
}

func orDash[T any](p *T, f func(T) string) string {
	if p == nil {
		return "-"
	}
	return f(*p)
}

// HumanBytes formats a byte count with a binary unit and one decimal:
// "512 B", "1.5 KiB", "31.5 MiB" (the single-process views' style).
func HumanBytes(b uint64) string {
	const unit = 1024
	if b < unit {
		return fmt.Sprintf("%d B", b)
	}
	div, exp := uint64(unit), 0
	for n := b / unit; n >= unit; n /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(b)/float64(div), "KMGTPE"[exp])
}

// NewTable returns a tabwriter on w with the single-process views' layout
// (two spaces between columns), the header already written.
func NewTable(w io.Writer, header ...string) *tabwriter.Writer {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	return tw
}
