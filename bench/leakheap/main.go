// Command leakheap is the target of bench/leakscan.sh: a process with a live
// heap of about -heap MiB of pointerful objects (a forest of small nodes and
// maps, the shape of a cache or an in-memory index), -idle goroutines parked
// on channels a package variable holds, and -leak goroutines leaked in a
// channel receive. With -churn it keeps allocating and dropping objects
// (about -churn MiB/s) while it is scanned, and prints "OPS n" every second.
//
// It prints "READY <pid> heap=<bytes>" when set up.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"time"
)

type node struct {
	left, right *node
	key         int
	val         []byte
	tags        map[string]*node
}

var (
	forest []*node
	idle   chan int
	sink   *node
)

func tree(depth int, valSize int) *node {
	n := &node{key: depth, val: make([]byte, valSize)}
	if depth > 0 {
		n.left, n.right = tree(depth-1, valSize), tree(depth-1, valSize)
		if depth%4 == 0 {
			n.tags = map[string]*node{"l": n.left, "r": n.right}
		}
	}
	return n
}

func main() {
	heapMiB := flag.Int("heap", 64, "live heap to build, MiB")
	idleN := flag.Int("idle", 1000, "goroutines parked on a reachable channel")
	leakN := flag.Int("leak", 100, "goroutines leaked in a channel receive")
	churn := flag.Int("churn", 0, "MiB/s allocated and dropped while running")
	flag.Parse()

	// A depth-12 tree of 64-byte values is about 8191 nodes, ~1.3 MiB.
	for {
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		if ms.HeapAlloc >= uint64(*heapMiB)<<20 {
			break
		}
		forest = append(forest, tree(12, 64))
	}
	idle = make(chan int)
	for range *idleN {
		go func() { <-idle }()
	}
	for range *leakN {
		go func() { <-make(chan int) }()
	}
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Printf("READY %d heap=%d\n", os.Getpid(), ms.HeapAlloc)
	if *churn == 0 {
		for {
			time.Sleep(time.Hour) // not select{}: the runtime would see a deadlock
		}
	}
	per := (*churn << 20) / 100 // per 10 ms
	ops := 0
	tick := time.NewTicker(10 * time.Millisecond)
	last := time.Now()
	for range tick.C {
		for done := 0; done < per; done += 64 + 80 {
			sink = &node{val: make([]byte, 64)}
			ops++
		}
		if time.Since(last) >= time.Second {
			fmt.Printf("OPS %d\n", ops)
			ops, last = 0, time.Now()
		}
	}
}
