// Command idle is a test target: a Go program that links every runtime path
// memsight probes (finalizers, cleanups, GC) and then idles until killed.
// It prints "READY <pid>" once set up.
package main

import (
	"fmt"
	"os"
	"runtime"
	"time"
)

type res struct{ buf [64]byte }

func main() {
	for i := 0; i < 10; i++ {
		r := &res{}
		runtime.SetFinalizer(r, func(*res) {})
		c := &res{}
		runtime.AddCleanup(c, func(int) {}, i)
	}
	runtime.GC()
	fmt.Printf("READY %d\n", os.Getpid())
	for {
		time.Sleep(time.Hour)
	}
}
