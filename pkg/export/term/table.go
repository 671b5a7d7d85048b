package term

import (
	"strconv"
	"strings"
)

// column is one column of the table.
type column struct {
	name  string
	right bool // numbers are right-aligned
	// max bounds the column's width (0: none); drop ranks the columns
	// removed first when the table is wider than the terminal (0: never).
	max, drop int
	cell      func(Row) string
}

// columns returns the table's columns; POD only when a process has one.
func columns(rows []Row) []column {
	cols := []column{
		{name: "PID", right: true, cell: func(r Row) string { return strconv.Itoa(r.PID) }},
		{name: "COMM", max: 16, cell: func(r Row) string { return Clean(r.Comm) }},
	}
	for _, r := range rows {
		if r.Pod != "" {
			cols = append(cols, column{name: "POD", max: 40, drop: 4, cell: podCell})
			break
		}
	}
	return append(cols,
		column{name: "GO", max: 10, drop: 1, cell: func(r Row) string { return Clean(strings.TrimPrefix(r.GoVersion, "go")) }},
		column{name: "RSS", right: true, cell: func(r Row) string { return orDash(r.RSSBytes, bytes) }},
		column{name: "RSS/h", right: true, drop: 3, cell: rateCell},
		column{name: "HEAP", right: true, drop: 5, cell: func(r Row) string { return orDash(r.HeapBytes, bytes) }},
		column{name: "GOR", right: true, drop: 6, cell: func(r Row) string { return orDash(r.Goroutines, strconv.Itoa) }},
		column{name: "FINQ", right: true, cell: func(r Row) string {
			return orDash(r.FinQueue, func(q int64) string { return strconv.FormatInt(q, 10) })
		}},
		column{name: "FIN-RUN", right: true, drop: 2, cell: finRunCell},
		column{name: "FINDINGS", cell: findingsCell},
	)
}

func podCell(r Row) string {
	if r.Pod == "" {
		return "-"
	}
	return Clean(r.Namespace + "/" + r.Pod)
}

// rateCell is RSS/h: the detector's fit, or "~" and top's own estimate.
func rateCell(r Row) string {
	if r.RSSPerHour == nil {
		return "-"
	}
	s := signedBytes(*r.RSSPerHour)
	if r.RSSRateSource == "top" {
		s = "~" + s
	}
	return s
}

func finRunCell(r Row) string {
	if r.FinRunning == nil {
		return "-"
	}
	if r.FinRunningAtLeast {
		return "≥" + age(*r.FinRunning)
	}
	return age(*r.FinRunning)
}

// findingsCell lists the active findings' kinds, or why a process is not
// watched.
func findingsCell(r Row) string {
	if r.State != "" && r.State != "watching" {
		s := "(" + Clean(r.State)
		if r.Reason != "" {
			s += ": " + Clean(r.Reason)
		}
		return s + ")"
	}
	if len(r.Findings) == 0 {
		return "-"
	}
	return Clean(strings.Join(r.Findings, ","))
}

// minLast is the narrowest the last column (FINDINGS) is squeezed to before
// other columns are dropped.
const minLast = 16

// table lays the rows out in lines no wider than width (0: unbounded),
// dropping the least useful columns first when they do not fit.
func table(rows []Row, width int) []string {
	cols := columns(rows)
	cells := make([][]string, len(rows))
	for i, r := range rows {
		cells[i] = make([]string, len(cols))
		for j, c := range cols {
			cells[i][j] = c.cell(r)
		}
	}
	widths := make([]int, len(cols))
	for j, c := range cols {
		widths[j] = runes(c.name)
		for i := range rows {
			widths[j] = max(widths[j], runes(cells[i][j]))
		}
		if c.max > 0 {
			widths[j] = min(widths[j], c.max)
		}
	}
	keep := make([]bool, len(cols))
	for j := range keep {
		keep[j] = true
	}
	for width > 0 && fixedWidth(widths, keep)+minLast > width {
		drop := -1
		for j, c := range cols {
			if keep[j] && c.drop > 0 && (drop < 0 || c.drop < cols[drop].drop) {
				drop = j
			}
		}
		if drop < 0 {
			break
		}
		keep[drop] = false
	}
	line := func(get func(j int) string) string {
		var b strings.Builder
		for j, c := range cols {
			if !keep[j] {
				continue
			}
			if b.Len() > 0 {
				b.WriteString("  ")
			}
			s := get(j)
			if j == len(cols)-1 {
				b.WriteString(s) // the last column is cut with the line
				continue
			}
			b.WriteString(pad(cut(s, widths[j]), widths[j], c.right))
		}
		return strings.TrimRight(b.String(), " ")
	}
	out := []string{line(func(j int) string { return cols[j].name })}
	for i := range rows {
		out = append(out, line(func(j int) string { return cells[i][j] }))
	}
	return out
}

// fixedWidth is the width of the kept columns but the last, with gaps.
func fixedWidth(widths []int, keep []bool) int {
	w := 0
	for j := 0; j < len(widths)-1; j++ {
		if keep[j] {
			w += widths[j] + 2
		}
	}
	return w
}

func runes(s string) int { return len([]rune(s)) }
