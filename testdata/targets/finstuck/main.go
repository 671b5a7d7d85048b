// Command finstuck is a test target for memsight's runtime reader: its
// finalizer (or cleanup) goroutine gets stuck after a number of finalizers
// ran, and it prints the runtime's own counts as ground truth.
//
// Modes (-mode):
//
//	chan     the finalizer blocks on a channel receive
//	mutex    the finalizer blocks on a sync.Mutex main holds (inlined Lock frames)
//	busy     the finalizer spins in a frameless loop (status running)
//	cleanup  a cleanup (runtime.AddCleanup) blocks on a channel receive
//
// Protocol (stdout):
//
//	READY <pid>
//	ROUND <i>        a round starts: new objects, then runtime.GC()
//	GT queued=Q executed=E cqueued=CQ cexecuted=CE
//	                 runtime/metrics after the round's GC and sweep (Go 1.26+,
//	                 else -1); the counts stay put until the next ROUND
//	BLOCKED          printed by the finalizer (cleanup) just before it blocks
//
// Send SIGQUIT for the runtime's own goroutine dump on stderr.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/metrics"
	"sync"
	"sync/atomic"
	"time"
)

type stuckConn struct {
	id  int
	buf [64]byte
}

var (
	mode  = flag.String("mode", "chan", "chan, mutex, busy or cleanup")
	after = flag.Int64("after", 150, "finalizers (cleanups) that return before one gets stuck")
	ran   atomic.Int64
	never = make(chan struct{})
	mu    sync.Mutex
	stop  atomic.Uint32
)

// Close is the finalizer.
func (c *stuckConn) Close() error {
	if ran.Add(1) <= *after {
		return nil
	}
	fmt.Println("BLOCKED")
	switch *mode {
	case "mutex":
		mu.Lock()
	case "busy":
		busyLoop(&stop)
	default:
		<-never
	}
	return nil
}

// busyLoop spins without a stack frame until *p is set.
//
//go:noinline
func busyLoop(p *atomic.Uint32) uint64 {
	var n uint64
	for p.Load() == 0 {
		n++
	}
	return n
}

// cleanup is the AddCleanup function.
func cleanup(id int) {
	if ran.Add(1) <= *after {
		return
	}
	fmt.Println("BLOCKED")
	<-never
}

func main() {
	perRound := flag.Int("n", 100, "objects per round")
	interval := flag.Duration("interval", 300*time.Millisecond, "pause between rounds")
	flag.Parse()
	if *mode == "mutex" {
		mu.Lock() // held forever
	}
	fmt.Printf("READY %d\n", os.Getpid())
	samples := []metrics.Sample{
		{Name: "/gc/finalizers/queued:finalizers"},
		{Name: "/gc/finalizers/executed:finalizers"},
		{Name: "/gc/cleanups/queued:cleanups"},
		{Name: "/gc/cleanups/executed:cleanups"},
	}
	id := 0
	for round := 0; ; round++ {
		fmt.Printf("ROUND %d\n", round)
		for i := 0; i < *perRound; i++ {
			c := &stuckConn{id: id}
			id++
			if *mode == "cleanup" {
				runtime.AddCleanup(c, cleanup, c.id)
			} else {
				runtime.SetFinalizer(c, (*stuckConn).Close)
			}
		}
		runtime.GC() // returns after the sweep queued every finalizer
		metrics.Read(samples)
		var v [4]int64
		for i, s := range samples {
			v[i] = -1
			if s.Value.Kind() == metrics.KindUint64 {
				v[i] = int64(s.Value.Uint64())
			}
		}
		fmt.Printf("GT queued=%d executed=%d cqueued=%d cexecuted=%d\n", v[0], v[1], v[2], v[3])
		time.Sleep(*interval)
	}
}
