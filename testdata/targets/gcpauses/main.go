// Command gcpauses is the test target of memsight's GC pause histogram: it
// runs runtime.GC() a known number of times on request and prints the
// runtime's own pause of each cycle (MemStats.PauseNs) as ground truth.
//
// Protocol (stdout, one event per line):
//
//	READY numgc=N               set up, idle (it allocates nothing until the next signal)
//	PAUSES numgc=N pauses=P,... after SIGUSR1: the next count of -rounds runtime.GC() calls ran;
//	                            P are the PauseNs of the cycles since the previous line, oldest
//	                            first, as far as MemStats still holds them (the last 256)
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
)

func main() {
	rounds := flag.String("rounds", "5,300", "comma-separated numbers of runtime.GC() calls, one list entry per SIGUSR1")
	flag.Parse()
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGUSR1)
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	prev := ms.NumGC
	fmt.Printf("READY numgc=%d\n", prev)
	for _, r := range strings.Split(*rounds, ",") {
		<-sigs
		n, err := strconv.Atoi(r)
		if err != nil {
			fmt.Fprintln(os.Stderr, "bad -rounds:", err)
			os.Exit(2)
		}
		for range n {
			runtime.GC()
		}
		runtime.ReadMemStats(&ms)
		var p []string
		for c := max(prev+1, ms.NumGC-min(ms.NumGC, 255)); c <= ms.NumGC; c++ {
			p = append(p, strconv.FormatUint(ms.PauseNs[(c-1)%256], 10))
		}
		fmt.Printf("PAUSES numgc=%d pauses=%s\n", ms.NumGC, strings.Join(p, ","))
		prev = ms.NumGC
	}
	for range sigs { // idle for ever
	}
}
