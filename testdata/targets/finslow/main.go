// Command finslow is a test target for memsight's probes: it registers
// finalizers (slow ones, optionally one that blocks forever) and cleanups,
// runs GC cycles, and prints the runtime's own numbers as ground truth.
//
// Protocol (stdout):
//
//	READY <pid>            set up; waiting for SIGUSR1 (with -wait)
//	GT0 <counts>           the runtime's counts when work starts
//	DONE <counts>          -drain: every queued finalizer and cleanup has run
//	BYE                    exiting 0 after SIGTERM
//
// <counts> is "queued=Q executed=E cqueued=CQ cexecuted=CE numgc=N registered=R";
// queued/executed come from runtime/metrics (Go 1.26+, else -1), numgc from
// /gc/cycles/total:gc-cycles (no stop-the-world), registered is the number of
// runtime.SetFinalizer calls this program made.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"runtime/metrics"
	"syscall"
	"time"
)

type obj struct{ buf [64]byte }

var (
	finSleep     time.Duration
	cleanupSleep time.Duration
	block        = make(chan struct{})
	registered   int
)

func slowFinalizer(*obj) { time.Sleep(finSleep) }

func blockingFinalizer(*obj) { <-block }

func quickFinalizer(*obj) {}

func blockingCleanup(int) { <-block }

func cleanupFn(int) { time.Sleep(cleanupSleep) }

// deep calls runtime.SetFinalizer at every depth of a recursion, so that some
// calls hit the stack limit in SetFinalizer's prologue (morestack re-runs the
// function's entry).
//
//go:noinline
func deep(d, max int) {
	var pad [40]byte
	runtime.SetFinalizer(&obj{}, quickFinalizer)
	registered++
	if d < max {
		deep(d+1, max)
	}
	_ = pad
}

func main() {
	n := flag.Int("n", 50, "finalizers per round")
	c := flag.Int("c", 50, "cleanups per round")
	rounds := flag.Int("rounds", 3, "rounds")
	flag.DurationVar(&finSleep, "sleep", 2*time.Millisecond, "finalizer duration")
	flag.DurationVar(&cleanupSleep, "csleep", time.Millisecond, "cleanup duration")
	wait := flag.Bool("wait", true, "wait for SIGUSR1 before starting")
	blockOne := flag.Bool("block", false, "the first finalizer blocks forever")
	blockCleanup := flag.Bool("blockc", false, "the first cleanup blocks forever")
	depth := flag.Int("deep", 0, "goroutines calling SetFinalizer at recursion depths 0..200")
	drain := flag.Bool("drain", true, "GC until every finalizer and cleanup ran, then print DONE")
	flag.Parse()

	usr1 := make(chan os.Signal, 1)
	signal.Notify(usr1, syscall.SIGUSR1)
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	fmt.Printf("READY %d\n", os.Getpid())
	if *wait {
		<-usr1
	}
	fmt.Printf("GT0 %s\n", counts())

	if *blockOne {
		runtime.SetFinalizer(&obj{}, blockingFinalizer)
		registered++
	}
	if *blockCleanup {
		runtime.AddCleanup(&obj{}, blockingCleanup, 0)
	}
	for i := 0; i < *depth; i++ {
		done := make(chan struct{})
		go func() { deep(0, 200); close(done) }()
		<-done
	}
	for r := 0; r < *rounds; r++ {
		for i := 0; i < *n; i++ {
			runtime.SetFinalizer(&obj{}, slowFinalizer)
			registered++
		}
		for i := 0; i < *c; i++ {
			runtime.AddCleanup(&obj{}, cleanupFn, i)
		}
		runtime.GC()
		time.Sleep(20 * time.Millisecond)
	}
	if *drain {
		for {
			runtime.GC()
			time.Sleep(10 * time.Millisecond)
			q, e, cq, ce := read("/gc/finalizers/queued:finalizers"), read("/gc/finalizers/executed:finalizers"),
				read("/gc/cleanups/queued:cleanups"), read("/gc/cleanups/executed:cleanups")
			if q < 0 || q == e && cq == ce {
				break
			}
		}
		fmt.Printf("DONE %s\n", counts())
	}
	<-term
	fmt.Println("BYE")
	os.Exit(0)
}

func counts() string {
	return fmt.Sprintf("queued=%d executed=%d cqueued=%d cexecuted=%d numgc=%d registered=%d",
		read("/gc/finalizers/queued:finalizers"), read("/gc/finalizers/executed:finalizers"),
		read("/gc/cleanups/queued:cleanups"), read("/gc/cleanups/executed:cleanups"),
		read("/gc/cycles/total:gc-cycles"), registered)
}

// read returns a runtime/metrics counter, or -1 when this Go version lacks it.
func read(name string) int64 {
	s := []metrics.Sample{{Name: name}}
	metrics.Read(s)
	if s[0].Value.Kind() != metrics.KindUint64 {
		return -1
	}
	return int64(s[0].Value.Uint64())
}
