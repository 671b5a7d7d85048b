// Command workload is memsight's benchmark target. It runs one workload for a
// fixed time and prints its throughput as "ops_per_sec N", and its ops per
// second of CPU time as "ops_per_cpu_sec N": the CPU time of the whole
// process (every thread, user and system; uprobes hit by the target count
// in its system time), which depends less on other load on the machine.
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
	"syscall"
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
	cpu0 := cpuTime()
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
	cpu := cpuTime() - cpu0
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Printf("ops_per_sec %.0f ops_per_cpu_sec %.0f gc %d\n", float64(ops)/el, float64(ops)/cpu.Seconds(), ms.NumGC)
}

// cpuTime is the user and system time of the whole process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
