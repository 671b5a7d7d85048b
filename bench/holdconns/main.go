// Command holdconns keeps idle HTTP/1.1 keep-alive connections open to
// servers, so that each server holds one goroutine per connection (the
// benchmarks use it to give real servers hundreds of goroutines).
//
//	holdconns -n 300 -every 30s 127.0.0.1:8001 127.0.0.1:8002
//
// Each connection sends "GET /" every -every (servers close idle
// connections after minutes) and is dialled again when the server closes
// it. It prints "READY <connections>" once every connection has had its
// first response, then runs until killed.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sync"
	"time"
)

func main() {
	n := flag.Int("n", 300, "connections per server")
	every := flag.Duration("every", 30*time.Second, "time between two requests on a connection")
	flag.Parse()
	if flag.NArg() == 0 || *n <= 0 {
		fmt.Fprintln(os.Stderr, "usage: holdconns [-n N] [-every D] HOST:PORT...")
		os.Exit(2)
	}
	var ready sync.WaitGroup
	for _, addr := range flag.Args() {
		for range *n {
			ready.Add(1)
			go hold(addr, *every, ready.Done)
		}
	}
	ready.Wait()
	fmt.Printf("READY %d\n", *n*flag.NArg())
	select {}
}

// hold keeps one connection to addr, calling first after its first response.
func hold(addr string, every time.Duration, first func()) {
	var once sync.Once
	for {
		if err := serve(addr, every, func() { once.Do(first) }); err != nil {
			fmt.Fprintf(os.Stderr, "holdconns: %s: %v\n", addr, err)
		}
		time.Sleep(time.Second)
	}
}

// serve sends a request on one connection every interval until it fails.
func serve(addr string, every time.Duration, answered func()) error {
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	r := bufio.NewReader(c)
	for {
		if _, err := fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: %s\r\n\r\n", addr); err != nil {
			return err
		}
		resp, err := http.ReadResponse(r, nil)
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		answered()
		time.Sleep(every)
	}
}
