// Command finq is the test target of `memsight attach`: it produces objects
// with finalizers (and cleanups) at a set rate, with finalizers of a set
// duration, optionally one that blocks for ever, and prints the runtime's own
// numbers (runtime/metrics, Go 1.26+) as ground truth.
//
// Protocol (stdout, one event per line):
//
//	READY <pid>                 set up; with -wait, production starts at SIGUSR1
//	START <gt>                  production starts
//	GT <gt>                     once per second
//	BLOCKED                     the blocking finalizer or cleanup is about to block
//	FROZEN <gt>                 production and GC stopped (after -freeze-after); nothing changes any more
//	DRAINED <gt>                after SIGUSR2: production stopped, every queued finalizer and cleanup ran
//	BYE                         exiting 0 after SIGTERM
//
// <gt> is "queued=Q executed=E cqueued=CQ cexecuted=CE numgc=N".
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"runtime/metrics"
	"sync/atomic"
	"syscall"
	"time"
)

type obj struct{ buf [128]byte }

var (
	finSleep time.Duration
	never    = make(chan struct{})
	blockNow atomic.Bool
	cblock   atomic.Bool
)

//go:noinline
func slowFinalizer(*obj) {
	if blockNow.Load() {
		blockingFinalizer()
	}
	if finSleep > 0 {
		time.Sleep(finSleep)
	}
}

//go:noinline
func blockingFinalizer() {
	blockNow.Store(false)
	fmt.Println("BLOCKED")
	<-never
}

//go:noinline
func stuckCleanup(int) {
	fmt.Println("BLOCKED")
	<-never
}

//go:noinline
func quickCleanup(int) {}

func gt() string {
	s := []metrics.Sample{
		{Name: "/gc/finalizers/queued:finalizers"},
		{Name: "/gc/finalizers/executed:finalizers"},
		{Name: "/gc/cleanups/queued:cleanups"},
		{Name: "/gc/cleanups/executed:cleanups"},
		{Name: "/gc/cycles/total:gc-cycles"},
	}
	metrics.Read(s)
	v := make([]int64, len(s))
	for i := range s {
		v[i] = -1
		if s[i].Value.Kind() == metrics.KindUint64 {
			v[i] = int64(s[i].Value.Uint64())
		}
	}
	return fmt.Sprintf("queued=%d executed=%d cqueued=%d cexecuted=%d numgc=%d", v[0], v[1], v[2], v[3], v[4])
}

func main() {
	rate := flag.Int("rate", 200, "finalizers queued per second")
	flag.DurationVar(&finSleep, "fin-sleep", 0, "how long each finalizer takes")
	cleanups := flag.Int("cleanups", 0, "cleanups per second")
	blockAfter := flag.Duration("block-after", 0, "after this long one finalizer blocks for ever (0: never)")
	cleanupBlockAfter := flag.Duration("cleanup-block-after", 0, "after this long one cleanup blocks for ever (0: never)")
	freezeAfter := flag.Duration("freeze-after", 0, "stop producing and collecting after this long (0: never)")
	wait := flag.Bool("wait", false, "wait for SIGUSR1 before producing")
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
	fmt.Printf("START %s\n", gt())
	start := time.Now()
	const tick = 50 * time.Millisecond
	t := time.NewTicker(tick)
	defer t.Stop()
	lastGT, lastGC := start, start
	perTick := float64(*rate) * tick.Seconds()
	perTickC := float64(*cleanups) * tick.Seconds()
	var acc, accC float64
	frozen, cblocked := false, false
	for {
		select {
		case s := <-sigs:
			switch s {
			case syscall.SIGUSR2:
				drain()
				frozen = true
			case syscall.SIGTERM:
				fmt.Println("BYE")
				return
			}
			continue
		case now := <-t.C:
			if frozen {
				continue
			}
			el := now.Sub(start)
			if *freezeAfter > 0 && el >= *freezeAfter {
				frozen = true
				time.Sleep(200 * time.Millisecond) // let a running sweep finish
				fmt.Printf("FROZEN %s\n", gt())
				continue
			}
			if *blockAfter > 0 && el >= *blockAfter {
				*blockAfter = 0
				blockNow.Store(true)
			}
			for acc += perTick; acc >= 1; acc-- {
				runtime.SetFinalizer(&obj{}, slowFinalizer)
			}
			for accC += perTickC; accC >= 1; accC-- {
				runtime.AddCleanup(&obj{}, quickCleanup, 0)
			}
			if *cleanupBlockAfter > 0 && el >= *cleanupBlockAfter && !cblocked {
				cblocked = true
				runtime.AddCleanup(&obj{}, stuckCleanup, 1)
			}
			if now.Sub(lastGC) >= 200*time.Millisecond {
				runtime.GC()
				lastGC = now
			}
			if now.Sub(lastGT) >= time.Second {
				fmt.Printf("GT %s\n", gt())
				lastGT = now
			}
		}
	}
}

// drain stops production and collects until every queued finalizer and
// cleanup has run.
func drain() {
	for i := 0; i < 3000; i++ {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
		g := gt()
		var q, e, cq, ce, n int64
		fmt.Sscanf(g, "queued=%d executed=%d cqueued=%d cexecuted=%d numgc=%d", &q, &e, &cq, &ce, &n)
		if q == e && cq == ce && i > 3 {
			fmt.Printf("DRAINED %s\n", g)
			return
		}
	}
	fmt.Printf("NOT-DRAINED %s\n", gt())
}
