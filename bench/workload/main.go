// Command workload is memsight's benchmark target. It runs one workload for a
// fixed time and prints its throughput as "ops_per_sec N".
//
//	-mode=fin    every op allocates an object with a finalizer (finalizer-heavy)
//	-mode=alloc  every op allocates 64 B and 4 KiB objects (allocation-heavy, GC-heavy)
//
// With -wait it first prints "READY <pid>" and waits for a line on stdin, so
// that memsight can attach before the measurement starts.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"runtime"
	"time"
)

type obj struct{ b [48]byte }

var sink []byte

func main() {
	mode := flag.String("mode", "fin", "fin or alloc")
	dur := flag.Duration("duration", 5*time.Second, "measurement time")
	wait := flag.Bool("wait", false, "print READY and wait for a line on stdin before measuring")
	flag.Parse()
	if *wait {
		fmt.Printf("READY %d\n", os.Getpid())
		bufio.NewReader(os.Stdin).ReadString('\n')
	}
	var ops int
	start := time.Now()
	for time.Since(start) < *dur {
		for i := 0; i < 1000; i++ {
			switch *mode {
			case "fin":
				o := &obj{}
				runtime.SetFinalizer(o, func(*obj) {})
			default:
				sink = make([]byte, 64)
				if i%16 == 0 {
					sink = make([]byte, 4096)
				}
			}
		}
		ops += 1000
	}
	el := time.Since(start).Seconds()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Printf("ops_per_sec %.0f gc %d\n", float64(ops)/el, ms.NumGC)
}
