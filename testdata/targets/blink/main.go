// Command blink is a test target of `memsight agent`: a short-lived Go
// process. It registers a few finalizers, runs a GC, and exits 0 after
// -after (default 50ms), or stays until killed with -after 0. It prints
// "READY <pid>" at start.
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"time"
)

type res struct{ buf [64]byte }

func main() {
	after := flag.Duration("after", 50*time.Millisecond, "exit after this long (0: never)")
	flag.Parse()
	fmt.Printf("READY %d\n", os.Getpid())
	for i := 0; i < 10; i++ {
		runtime.SetFinalizer(&res{}, func(*res) {})
	}
	runtime.GC()
	for *after <= 0 {
		time.Sleep(time.Hour)
	}
	time.Sleep(*after)
}
