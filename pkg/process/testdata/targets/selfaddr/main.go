// Command selfaddr is a test target for pkg/process. It prints the run-time
// address of its own main.main (so a test can check a computed load bias),
// optionally allocates and touches memory and opens files, prints what it did
// and then idles until killed:
//
//	MAIN <hex address of main.main>
//	ALLOC <bytes touched>
//	FILES <files opened>
//	READY <pid>
package main

import (
	"flag"
	"fmt"
	"os"
	"reflect"
	"time"
)

func main() {
	allocMiB := flag.Int("alloc", 0, "MiB of memory to allocate and touch")
	files := flag.Int("files", 0, "files to open and keep open")
	flag.Parse()

	fmt.Printf("MAIN %x\n", reflect.ValueOf(main).Pointer())

	buf := make([]byte, *allocMiB<<20)
	for i := 0; i < len(buf); i += 4096 {
		buf[i] = 1
	}
	fmt.Printf("ALLOC %d\n", len(buf))

	var open []*os.File
	for range *files {
		f, err := os.Open(os.DevNull)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		open = append(open, f)
	}
	fmt.Printf("FILES %d\n", len(open))
	fmt.Printf("READY %d\n", os.Getpid())
	for {
		time.Sleep(time.Hour)
		_ = buf[0]
		_ = open
	}
}
