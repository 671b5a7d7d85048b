// Command heapleak is a test target for `memsight profile`: it leaks memory
// from one known function, main.leakyCache (1 KiB values in a global map),
// while other goroutines allocate short-lived garbage, and it links
// runtime/pprof so the runtime records a sampled heap profile.
//
// It prints "READY <pid>" once the initial leak is in place and the other
// goroutines allocated for -warmup. On SIGUSR1 it
// pauses every allocating goroutine, disables the GC (so no new heap profile
// cycle is published), runs runtime.GC(), writes its own heap profile with
// pprof.WriteHeapProfile to -profile (the ground truth) and prints
// "PROFILED". The heap profile then stays as written until SIGUSR2, which
// restores the GC and resumes the goroutines ("RESUMED").
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"sync"
	"syscall"
	"time"
)

// cache is the leak: it only grows.
var cache = map[int][]byte{}

// leakyCache adds n 1 KiB values to cache.
//
//go:noinline
func leakyCache(start, n int) {
	for i := start; i < start+n; i++ {
		cache[i] = make([]byte, 1024)
	}
}

// grow is inlined into its callers: their frame for the call of
// leakyCache has two functions.
func grow(next *int, n int) {
	leakyCache(*next, n)
	*next += n
}

// churn allocates short-lived garbage of a few sizes.
//
//go:noinline
func churn() [][]byte {
	bufs := make([][]byte, 0, 64)
	for i := 0; i < 64; i++ {
		bufs = append(bufs, make([]byte, 512+(i%8)*1024))
	}
	_ = makeSlice[int](100 + len(bufs))
	return bufs
}

// makeSlice is a generic allocation site (its symbol name has a shape).
//
//go:noinline
func makeSlice[T any](n int) []T { return make([]T, n) }

type node struct {
	next *node
	val  [6]int
}

// newNode is inlined into scratch.
func newNode(next *node, v int) *node { return &node{next: next, val: [6]int{v}} }

// scratch is another source of garbage, with small objects.
//
//go:noinline
func scratch() int {
	var head *node
	for i := 0; i < 256; i++ {
		head = newNode(head, i)
	}
	n := 0
	for p := head; p != nil; p = p.next {
		n += p.val[0]
	}
	return n
}

func main() {
	profile := flag.String("profile", "", "file WriteHeapProfile writes to on SIGUSR1")
	leak := flag.Int("leak", 16384, "1 KiB values leaked before READY")
	rate := flag.Int("memprofilerate", -1, "runtime.MemProfileRate to set (-1: keep the default)")
	warmup := flag.Duration("warmup", 200*time.Millisecond, "time the goroutines allocate before READY")
	flag.Parse()
	if *rate >= 0 {
		runtime.MemProfileRate = *rate
	}

	var gate sync.RWMutex // workers hold it shared; SIGUSR1 takes it exclusively
	next := 0
	grow(&next, *leak)
	go func() {
		for {
			gate.RLock()
			grow(&next, 16)
			gate.RUnlock()
			time.Sleep(10 * time.Millisecond)
		}
	}()
	for w := 0; w < 2; w++ {
		go func() {
			var keep [][]byte // the latest round stays reachable for a moment
			for {
				gate.RLock()
				keep = churn()
				_ = keep
				scratch()
				gate.RUnlock()
				time.Sleep(time.Millisecond)
			}
		}()
	}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGUSR1, syscall.SIGUSR2)
	time.Sleep(*warmup)
	runtime.GC()
	fmt.Printf("READY %d\n", os.Getpid())
	paused, gcPercent := false, 100
	for s := range sigs {
		switch {
		case s == syscall.SIGUSR1 && !paused:
			gate.Lock()
			gcPercent = debug.SetGCPercent(-1)
			runtime.GC()
			if err := writeProfile(*profile); err != nil {
				fmt.Fprintln(os.Stderr, "heapleak:", err)
				os.Exit(1)
			}
			paused = true
			fmt.Println("PROFILED")
		case s == syscall.SIGUSR2 && paused:
			debug.SetGCPercent(gcPercent)
			gate.Unlock()
			paused = false
			fmt.Println("RESUMED")
		}
	}
}

func writeProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := pprof.WriteHeapProfile(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
