// Command goleak is the test target of the goroutine census: it leaks
// goroutines blocked in a channel receive from one go statement (the line
// marked LEAK) at a set rate, parks a few more in select, sync.Mutex.Lock and
// time.Sleep (the lines marked SITE), and prints runtime.NumGoroutine as
// ground truth.
//
// Protocol (stdout, one event per line):
//
//	READY <pid>        set up; the others are parked, and two GCs ran since
//	NG <ng> total=<t> leaked=<n>
//	                   every -print: ng is runtime.NumGoroutine(), t is
//	                   /sched/goroutines:goroutines (system goroutines
//	                   included), n the goroutines leaked so far
//	STEADY leaked=<n>  leaking stopped (after -max leaks, or at SIGUSR1) and a
//	                   GC ran: from now on no goroutine is created or exits
//	PROFILE <path>     after SIGUSR2: the goroutine profile was written to
//	                   <path>.0 (debug=0: the gzipped protobuf), <path>.1
//	                   (debug=1) and <path>.2 (debug=2)
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"sync"
	"syscall"
	"time"
)

// handler leaks one goroutine per call, like a request handler that starts a
// worker and forgets it.
//
//go:noinline
func handler(ch chan int) {
	go func() { <-ch }() // LEAK
}

// others parks n goroutines each in select, sync.Mutex.Lock and time.Sleep.
//
//go:noinline
func others(n int, a, b chan int, mu *sync.Mutex) {
	for range n {
		go func() { waitEither(a, b) }()      // SITE select
		go func() { mu.Lock() }()             // SITE mutex
		go func() { time.Sleep(time.Hour) }() // SITE sleep
	}
}

// waitEither blocks in a select on a and b.
func waitEither(a, b chan int) {
	select {
	case <-a:
	case <-b:
	}
}

// leak calls handler rate times per second until limit calls (0: no limit) or
// stop is closed, and returns the number of calls.
func leak(rate, limit int, stop <-chan struct{}) int {
	never := make(chan int)
	const tick = 5 * time.Millisecond
	t := time.NewTicker(tick)
	defer t.Stop()
	perTick := max(1, int(float64(rate)*tick.Seconds()))
	n := 0
	for {
		select {
		case <-stop:
			return n
		case <-t.C:
		}
		for range perTick {
			if limit > 0 && n >= limit {
				return n
			}
			handler(never)
			n++
		}
	}
}

func total() int64 {
	s := []metrics.Sample{{Name: "/sched/goroutines:goroutines"}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return -1
	}
	return int64(s[0].Value.Uint64())
}

func writeProfiles(path string) error {
	for _, debug := range []int{0, 1, 2} {
		f, err := os.Create(fmt.Sprintf("%s.%d", path, debug))
		if err != nil {
			return err
		}
		err = pprof.Lookup("goroutine").WriteTo(f, debug)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func main() {
	rate := flag.Int("rate", 5000, "goroutines leaked per second")
	maxLeaks := flag.Int("max", 0, "stop leaking after this many (0: at SIGUSR1)")
	nOthers := flag.Int("others", 3, "goroutines parked in each of select, sync.Mutex.Lock and time.Sleep")
	profile := flag.String("profile", "", "on SIGUSR2, write the goroutine profile to this path + .0, .1 and .2")
	every := flag.Duration("print", 20*time.Millisecond, "NG line interval")
	flag.Parse()

	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGUSR1, syscall.SIGUSR2)
	var mu sync.Mutex
	mu.Lock()
	others(*nOthers, make(chan int), make(chan int), &mu)
	time.Sleep(50 * time.Millisecond) // let them park
	// A GC records when a goroutine it finds blocked started waiting
	// (g.waitsince) as the start of the previous cycle's mark termination
	// (work.tstart; 0 during the first cycle): the second GC stamps them.
	runtime.GC()
	runtime.GC()
	fmt.Printf("READY %d\n", os.Getpid())

	stop := make(chan struct{})
	done := make(chan int, 1)
	go func() { done <- leak(*rate, *maxLeaks, stop) }()
	t := time.NewTicker(*every)
	defer t.Stop()
	leaked, leaking := 0, true
	for {
		select {
		case s := <-sigs:
			switch s {
			case syscall.SIGUSR1:
				if leaking {
					close(stop)
				}
			case syscall.SIGUSR2:
				if err := writeProfiles(*profile); err != nil {
					fmt.Fprintln(os.Stderr, "goleak:", err)
					os.Exit(1)
				}
				fmt.Printf("PROFILE %s\n", *profile)
			}
			continue
		case leaked = <-done:
			leaking = false
			runtime.GC()
			fmt.Printf("STEADY leaked=%d\n", leaked)
		case <-t.C:
		}
		fmt.Printf("NG %d total=%d leaked=%d\n", runtime.NumGoroutine(), total(), leaked)
	}
}
