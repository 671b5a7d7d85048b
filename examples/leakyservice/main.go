// Command leakyservice is memsight's demo target: a small Go service whose
// memory grows because its finalizer goroutine gets stuck.
//
// Every "request" opens an upstream *Conn holding a 32 KiB buffer and, as
// too many services do, relies on a finalizer to close it. Conn.Close says
// goodbye to the upstream and waits for its acknowledgement. After
// -stall-after the upstream stops answering, so the finalizer blocks for ever
// in net.(*netFD).Read; every Conn queued behind it stays alive and RSS
// climbs while CPU, GC and latency look normal.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"log"
	"net"
	"os"
	"runtime"
	"sync/atomic"
	"time"
)

// Conn is an upstream connection with a read buffer.
type Conn struct {
	nc  net.Conn
	buf []byte
}

// Close says goodbye and waits for the upstream to acknowledge.
func (c *Conn) Close() {
	fmt.Fprintf(c.nc, "BYE\n")
	ack := make([]byte, 4)
	_, _ = c.nc.Read(ack) // no deadline: blocks for ever if the upstream hangs
	c.nc.Close()
}

func dial(addr string) (*Conn, error) {
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	c := &Conn{nc: nc, buf: make([]byte, 32<<10)}
	for i := range c.buf {
		c.buf[i] = byte(i) // a real read buffer: resident
	}
	runtime.SetFinalizer(c, (*Conn).Close) // the bug: cleanup left to the GC
	return c, nil
}

// upstream acknowledges every BYE until hung is set.
func upstream(ln net.Listener, hung *atomic.Bool) {
	for {
		nc, err := ln.Accept()
		if err != nil {
			return
		}
		go func() {
			r := bufio.NewReader(nc)
			for {
				if _, err := r.ReadString('\n'); err != nil {
					nc.Close()
					return
				}
				if hung.Load() {
					select {} // never answers again
				}
				nc.Write([]byte("ACK\n"))
			}
		}()
	}
}

func main() {
	rate := flag.Int("rate", 200, "requests per second")
	stallAfter := flag.Duration("stall-after", 5*time.Second, "when the upstream stops answering (0: never)")
	flag.Parse()

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	var hung atomic.Bool
	go upstream(ln, &hung)
	if *stallAfter > 0 {
		time.AfterFunc(*stallAfter, func() { hung.Store(true) })
	}
	fmt.Printf("leakyservice pid %d: %d req/s, upstream %s hangs after %v\n", os.Getpid(), *rate, ln.Addr(), *stallAfter)

	tick := time.NewTicker(time.Second / time.Duration(*rate))
	defer tick.Stop()
	for range tick.C {
		c, err := dial(ln.Addr().String())
		if err != nil {
			log.Printf("dial: %v", err)
			continue
		}
		c.buf[1] = 2 // serve the request; forget to Close
	}
}
