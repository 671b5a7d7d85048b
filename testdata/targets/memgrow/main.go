// Command memgrow is the test target of memsight's GC, heap and growth
// readings: it grows (or churns) memory in one of several ways and prints
// the runtime's own numbers as ground truth at a quiet moment.
//
// Modes (-mode):
//
//	map         a global map grows by -rate bytes/s (1 KiB values): Go heap growth
//	goroutines  -rate goroutines/s are started by main.leak and block for ever
//	mmap        -rate bytes/s of anonymous memory from syscall.Mmap, every page touched: non-heap growth
//	steady      allocates short-lived garbage at -rate bytes/s over a fixed live set: no growth
//	gc          GC-heavy: small pointerful garbage as fast as possible over an 8 MiB live set, GOGC=10
//
// Protocol (stdout, one event per line):
//
//	READY <pid>     after -warmup of running the mode
//	PAUSED          after SIGUSR1: the worker stopped allocating, then runtime.GC() ran (so sweeping is done)
//	TRUTH <gt>      runtime.ReadMemStats right after PAUSED
//	TRUTH2 <gt>     the same 2 s later, still paused (the test reads the process in between)
//	RESUMED         the worker continues
//
// <gt> is "numgc=N pause_total_ns=P last_pause_ns=L pause_p99_ns=Q heap_inuse=H next_gc=G heap_alloc=A goroutines=R";
// Q is the nearest-rank 99th percentile of the last min(N, 256) pauses.
package main

import (
	"flag"
	"fmt"
	"math"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"slices"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"
)

var (
	grown   = map[int][]byte{} // map mode: the leak
	mapped  [][]byte           // mmap mode: kept mapped for ever
	never   = make(chan struct{})
	sink    atomic.Pointer[node]   // gc mode: defeats escape analysis
	ballast = make([][]byte, 1024) // gc mode: 8 MiB live, so one span is noise
	stop    atomic.Bool
	parked  = make(chan struct{})
	restart = make(chan struct{})
)

type node struct {
	next *node
	buf  []byte
}

func main() {
	mode := flag.String("mode", "steady", "map, goroutines, mmap, steady or gc")
	rate := flag.Float64("rate", 0, "bytes/s (map, mmap, steady; default 4 MiB/s) or goroutines/s (goroutines; default 200/s)")
	warmup := flag.Duration("warmup", time.Second, "run this long before READY")
	memlimit := flag.Int64("memlimit", 0, "GOMEMLIMIT in bytes (0: none)")
	flag.Parse()
	if *memlimit > 0 {
		debug.SetMemoryLimit(*memlimit)
	}
	if *rate <= 0 {
		*rate = 4 << 20
		if *mode == "goroutines" {
			*rate = 200
		}
	}

	var step func(n float64)
	switch *mode {
	case "map":
		step = growMap
	case "goroutines":
		step = leakGoroutines
	case "mmap":
		step = growMmap
	case "steady":
		step = newSteady()
	case "gc":
		debug.SetGCPercent(10)
		for i := range ballast {
			ballast[i] = make([]byte, 8192)
			ballast[i][0] = 1
		}
		step = nil
	default:
		fmt.Fprintf(os.Stderr, "unknown mode %q\n", *mode)
		os.Exit(2)
	}
	go work(step, *rate)
	time.Sleep(*warmup)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGUSR1)
	fmt.Printf("READY %d\n", os.Getpid())
	for range sigs {
		stop.Store(true)
		<-parked
		// runtime.GC returns once the cycle ended and every span is
		// swept: nothing in the heap changes after it.
		runtime.GC()
		time.Sleep(100 * time.Millisecond)
		fmt.Println("PAUSED")
		printTruth("TRUTH")
		time.Sleep(2 * time.Second)
		printTruth("TRUTH2")
		stop.Store(false)
		restart <- struct{}{}
		fmt.Println("RESUMED")
	}
}

// truthBuf and pauseBuf are allocated up front: the heap must not change
// between ReadMemStats and the reading the test compares it with.
var (
	truthBuf = make([]byte, 0, 512)
	pauseBuf [256]uint64
	ms       runtime.MemStats
)

// printTruth prints prefix and the ground truth without allocating.
func printTruth(prefix string) {
	runtime.ReadMemStats(&ms)
	var last, p99 uint64
	if n := int(min(ms.NumGC, 256)); n > 0 {
		last = ms.PauseNs[(ms.NumGC+255)%256]
		for i := 0; i < n; i++ {
			pauseBuf[i] = ms.PauseNs[(int(ms.NumGC)-1-i)%256]
		}
		slices.Sort(pauseBuf[:n])
		p99 = pauseBuf[int(math.Ceil(0.99*float64(n)))-1]
	}
	b := append(truthBuf[:0], prefix...)
	for _, kv := range []struct {
		k string
		v uint64
	}{
		{" numgc=", uint64(ms.NumGC)}, {" pause_total_ns=", ms.PauseTotalNs}, {" last_pause_ns=", last},
		{" pause_p99_ns=", p99}, {" heap_inuse=", ms.HeapInuse}, {" next_gc=", ms.NextGC},
		{" heap_alloc=", ms.HeapAlloc}, {" goroutines=", uint64(runtime.NumGoroutine())},
	} {
		b = append(b, kv.k...)
		b = strconv.AppendUint(b, kv.v, 10)
	}
	b = append(b, '\n')
	os.Stdout.Write(b)
}

// work calls step every 10 ms with the amount due (rate × elapsed), or
// allocates without pause when step is nil (gc mode). It parks while stop is set.
func work(step func(n float64), rate float64) {
	const tick = 10 * time.Millisecond
	last := time.Now()
	var due float64
	for {
		if stop.Load() {
			parked <- struct{}{}
			<-restart
			last = time.Now()
		}
		if step == nil {
			churn()
			continue
		}
		time.Sleep(tick)
		now := time.Now()
		due += rate * now.Sub(last).Seconds()
		last = now
		if due >= 1 {
			step(due)
			due -= float64(int64(due))
		}
	}
}

// growMap adds about n bytes of 1 KiB values to the global map.
func growMap(n float64) {
	for i := 0; i < int(n)/1024; i++ {
		b := make([]byte, 1024)
		b[0] = 1 // fresh pages are not resident until written
		grown[len(grown)] = b
	}
}

// leakGoroutines starts n goroutines that never return.
func leakGoroutines(n float64) {
	for i := 0; i < int(n); i++ {
		go leak(i)
	}
}

//go:noinline
func leak(i int) {
	buf := make([]byte, 64)
	buf[0] = byte(i)
	<-never
	runtime.KeepAlive(buf)
}

// growMmap maps about n bytes more and touches every page.
func growMmap(n float64) {
	size := (int(n) + 4095) &^ 4095
	m, err := syscall.Mmap(-1, 0, size, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mmap:", err)
		os.Exit(1)
	}
	for i := 0; i < len(m); i += 4096 {
		m[i] = 1
	}
	mapped = append(mapped, m)
}

// newSteady returns a step that replaces buffers of a fixed live set of
// 1024 × 8 KiB round-robin: every byte allocated becomes garbage soon.
func newSteady() func(n float64) {
	live := make([][]byte, 1024)
	for i := range live { // the live set is in place from the start
		live[i] = make([]byte, 8192)
		live[i][0], live[i][4096] = 1, 1
	}
	next := 0
	return func(n float64) {
		for i := 0; i < int(n)/8192; i++ {
			b := make([]byte, 8192)
			for j := 0; j < len(b); j += 4096 {
				b[j] = 1
			}
			live[next] = b
			next = (next + 1) % len(live)
		}
	}
}

// churn allocates a short linked list of small objects.
func churn() {
	var head *node
	for i := 0; i < 64; i++ {
		head = &node{next: head, buf: make([]byte, 16)}
	}
	sink.Store(head)
}
