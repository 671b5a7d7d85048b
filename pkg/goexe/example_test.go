package goexe_test

import (
	"fmt"
	"log"
	"os"

	"github.com/memsight/memsight/pkg/goexe"
)

// Open inspects an executable (here the running test binary, itself a Go
// program) and reports where memsight would attach its finalizer probes.
// Offsets are what the kernel's uprobe API takes.
func ExampleOpen() {
	exe, err := os.Executable()
	if err != nil {
		log.Fatal(err)
	}
	b, err := goexe.Open(exe)
	if err != nil {
		log.Fatal(err)
	}
	defer b.Close()

	fmt.Println("attachable:", b.Attachable)
	queued := b.Probes.QueueFinalizer.Best()
	fmt.Printf("finalizer queued: %s, emulated: %v\n", queued.Func, queued.Emulated)
	call := b.Probes.FinalizerCall
	fmt.Printf("finalizer runs: %s, %s\n", call.Call.Func, call.Call.Inst)
	fmt.Println("resume emulated:", call.Resume.Emulated)
	// Output:
	// attachable: true
	// finalizer queued: runtime.queuefinalizer, emulated: true
	// finalizer runs: runtime.runFinalizers, CALL runtime.reflectcall(SB)
	// resume emulated: false
}
