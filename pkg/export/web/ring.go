package web

// unknown marks a value of a point that the sample did not have (no heap
// read, queue length before Go 1.25, unreadable fds).
const unknown = -1

// point is one recorded sample of a process: 48 bytes.
type point struct {
	t          int64 // the sample's time, Unix milliseconds
	rss        int64
	heapInuse  int64 // unknown when the heap was not read
	finqLen    int64 // unknown when the runtime does not count it
	goroutines int64 // unknown when the census failed
	fds        int64 // unknown when /proc/PID/fd was unreadable
}

// ring holds the latest points of one process, oldest first, at most
// len(buf) of them.
type ring struct {
	buf   []point
	start int // index of the oldest point
	n     int
}

func newRing(capacity int) *ring { return &ring{buf: make([]point, capacity)} }

// push appends p, dropping the oldest point when the ring is full.
func (r *ring) push(p point) {
	if r.n == len(r.buf) {
		r.buf[r.start] = p
		r.start = (r.start + 1) % len(r.buf)
		return
	}
	r.buf[(r.start+r.n)%len(r.buf)] = p
	r.n++
}

// dropBefore forgets the points older than cutoff (Unix milliseconds).
func (r *ring) dropBefore(cutoff int64) {
	for r.n > 0 && r.buf[r.start].t < cutoff {
		r.buf[r.start] = point{}
		r.start = (r.start + 1) % len(r.buf)
		r.n--
	}
}

// last returns the newest point; ok is false when the ring is empty.
func (r *ring) last() (p point, ok bool) {
	if r.n == 0 {
		return point{}, false
	}
	return r.buf[(r.start+r.n-1)%len(r.buf)], true
}

// after returns a copy of the points newer than since (Unix
// milliseconds), oldest first.
func (r *ring) after(since int64) []point {
	out := make([]point, 0, r.n)
	for i := range r.n {
		if p := r.buf[(r.start+i)%len(r.buf)]; p.t > since {
			out = append(out, p)
		}
	}
	return out
}
