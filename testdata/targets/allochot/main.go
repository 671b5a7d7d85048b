// Command allochot is the test target of memsight's allocation probes. Its
// allocations come from two known functions, and it counts them itself:
//
//	main.allocHot    4 KiB slices, and every -big-every'th iteration a 64 KiB slice
//	main.allocSmall  48-byte objects with new (Go 1.27: a direct call of the
//	                 compiler's size-specialized runtime.mallocgcSmallNoScanSC5)
//
// Protocol (stdout, one event per line):
//
//	READY <pid>        set up; with -wait, allocation starts at SIGUSR1
//	START              allocation starts
//	COUNT <counts>     every 200 ms
//	STOPPED <counts>   after SIGUSR2: allocation stopped, counts are final
//	BYE                exiting 0 after SIGTERM
//
// <counts> is "hot4k=A hot64k=B small=C iters=I ops_per_sec=R", where R is
// the iterations per second of the last 200 ms. -rate limits iterations per
// second (0: as fast as possible).
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"
)

type small struct{ a [6]uint64 } // 48 bytes, no pointers

var (
	sink      []byte
	sinkSmall *small
	hot4k     atomic.Int64
	hot64k    atomic.Int64
	nsmall    atomic.Int64
	iters     atomic.Int64
)

//go:noinline
func allocHot(big bool) {
	sink = make([]byte, 4096)
	hot4k.Add(1)
	if big {
		sink = make([]byte, 64<<10)
		hot64k.Add(1)
	}
}

//go:noinline
func allocSmall(n int) {
	for i := 0; i < n; i++ {
		sinkSmall = new(small)
	}
	nsmall.Add(int64(n))
}

func counts(rate float64) string {
	return fmt.Sprintf("hot4k=%d hot64k=%d small=%d iters=%d ops_per_sec=%.0f",
		hot4k.Load(), hot64k.Load(), nsmall.Load(), iters.Load(), rate)
}

func main() {
	rate := flag.Int("rate", 0, "iterations per second (0: unlimited)")
	bigEvery := flag.Int("big-every", 16, "one 64 KiB slice every this many iterations (0: none)")
	smallPer := flag.Int("small", 0, "48-byte objects per iteration")
	wait := flag.Bool("wait", false, "wait for SIGUSR1 before allocating")
	flag.Parse()

	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGTERM)
	fmt.Printf("READY %d\n", os.Getpid())
	if *wait {
		for s := range sigs {
			if s == syscall.SIGUSR1 {
				break
			}
			if s == syscall.SIGTERM {
				fmt.Println("BYE")
				return
			}
		}
	}
	var stop atomic.Bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		next := time.Now()
		for i := int64(0); !stop.Load(); i++ {
			allocHot(*bigEvery > 0 && i%int64(*bigEvery) == 0)
			if *smallPer > 0 {
				allocSmall(*smallPer)
			}
			iters.Add(1)
			if *rate > 0 {
				// Pace to -rate; never catch up after falling behind
				// (a probed target must not burst afterwards).
				next = next.Add(time.Second / time.Duration(*rate))
				if d := time.Until(next); d > 0 {
					time.Sleep(d)
				} else if d < -10*time.Millisecond {
					next = time.Now()
				}
			}
		}
	}()
	fmt.Println("START")
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	last, lastT := iters.Load(), time.Now()
	for {
		select {
		case s := <-sigs:
			switch s {
			case syscall.SIGUSR2:
				if !stop.Load() {
					stop.Store(true)
					<-done
				}
				fmt.Printf("STOPPED %s\n", counts(0))
			case syscall.SIGTERM:
				fmt.Println("BYE")
				return
			}
		case now := <-tick.C:
			n := iters.Load()
			r := float64(n-last) / now.Sub(lastT).Seconds()
			last, lastT = n, now
			fmt.Printf("COUNT %s\n", counts(r))
		}
	}
}
