// Command leakserve is the test target of the goroutine-leak verdict: a
// healthy HTTP server under load with idle goroutines parked every way a
// healthy service parks them (none of which is a leak), and, on request,
// real leaks.
//
// Healthy, all the time:
//   - a net/http server on 127.0.0.1 with -clients keep-alive clients
//     sending requests in a loop (their connections idle between requests);
//   - a worker pool blocked in select on a job channel and a quit channel
//     kept in a package variable;
//   - workers blocked in a channel receive on channels held only by a live
//     goroutine's stack (a dispatcher sleeping in a ticker loop);
//   - a sync.Cond waiter, a sync.WaitGroup waiter and a sync.Mutex waiter
//     whose primitives a sleeping goroutine holds and will release;
//   - goroutines in select on time.After and on a cancellable context;
//   - the main goroutine in a select on signals.
//
// Leaks, with -leak N: N goroutines blocked in a channel receive on a
// channel nothing else references (LEAK recv), N in a send (LEAK send) and
// N on a mutex locked by a goroutine that exited (LEAK mutex).
//
// Protocol (stdout): "READY <pid> requests=<n>" once the clients have
// completed requests and the goroutines are parked; then every second
// "REQS <n>".
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// pool is reachable from a package variable.
var pool struct {
	jobs chan int
	quit chan struct{}
}

var requests atomic.Int64

func main() {
	clients := flag.Int("clients", 16, "keep-alive client goroutines")
	workers := flag.Int("workers", 32, "idle pool workers")
	leak := flag.Int("leak", 0, "goroutines to leak of each kind")
	flag.Parse()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		fmt.Fprintf(w, "hello %s\n", r.URL.Path)
	})}
	go srv.Serve(ln)
	url := "http://" + ln.Addr().String() + "/x"
	tr := &http.Transport{MaxIdleConnsPerHost: *clients}
	for range *clients {
		go client(&http.Client{Transport: tr}, url)
	}

	pool.jobs, pool.quit = make(chan int), make(chan struct{})
	for range *workers {
		go worker()
	}
	dispatcher(*workers / 4)
	parkSync()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for range 4 {
		go func() {
			select {
			case <-time.After(time.Hour):
			case <-ctx.Done():
			}
		}()
	}
	if *leak > 0 {
		leakSome(*leak)
	}
	for requests.Load() < int64(*clients)*4 {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond)
	fmt.Printf("READY %d requests=%d\n", os.Getpid(), requests.Load())

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	tick := time.NewTicker(time.Second)
	for {
		select {
		case <-sigs:
			return
		case <-tick.C:
			fmt.Printf("REQS %d\n", requests.Load())
		}
	}
}

// client sends requests in a loop over keep-alive connections.
func client(c *http.Client, url string) {
	for {
		resp, err := c.Get(url)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			requests.Add(1)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// worker waits for jobs from the pool (a package variable).
func worker() {
	for {
		select {
		case j := <-pool.jobs:
			_ = j
		case <-pool.quit:
			return
		}
	}
}

// dispatcher starts n workers on channels only its own goroutine's stack
// holds, and feeds them rarely.
func dispatcher(n int) {
	chans := make([]chan int, n)
	for i := range chans {
		chans[i] = make(chan int)
		go func(c chan int) {
			for range c {
			}
		}(chans[i])
	}
	go func() {
		t := time.NewTicker(time.Hour)
		defer t.Stop()
		for range t.C {
			for _, c := range chans {
				c <- 1
			}
		}
	}()
}

// parkSync parks a goroutine on a sync.Cond, a WaitGroup and a Mutex that a
// sleeping goroutine holds and will release in an hour.
func parkSync() {
	var mu sync.Mutex
	cond := sync.NewCond(&sync.Mutex{})
	var wg sync.WaitGroup
	wg.Add(1)
	mu.Lock()
	go func() { mu.Lock(); mu.Unlock() }()
	go func() { cond.L.Lock(); cond.Wait(); cond.L.Unlock() }()
	go func() { wg.Wait() }()
	go func() {
		time.Sleep(time.Hour)
		mu.Unlock()
		cond.Broadcast()
		wg.Done()
	}()
}

// leakSome leaks n goroutines of each kind.
//
//go:noinline
func leakSome(n int) {
	for range n {
		go func() { <-make(chan int) }()    // LEAK recv
		go func() { make(chan int) <- 1 }() // LEAK send
		var mu sync.Mutex
		go func() {
			mu.Lock()
			go func() { mu.Lock() }() // LEAK mutex
		}()
	}
}
