package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof" // its init also registers on http.DefaultServeMux, which memsight never serves
	"time"
)

// pprofServer is the agent's own profiling listener (--pprof): Go's
// net/http/pprof handlers under /debug/pprof/, on an address of their own so
// that the public --listen API never serves them.
type pprofServer struct {
	srv  *http.Server
	ln   net.Listener
	done chan error
}

// startPprof listens on addr and serves /debug/pprof/ until Close.
func startPprof(addr string, log *slog.Logger) (*pprofServer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listening on --pprof %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index) // heap, goroutine, allocs, block, mutex, threadcreate
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	// No write timeout: a CPU profile or a trace answers after ?seconds=.
	p := &pprofServer{srv: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}, ln: ln, done: make(chan error, 1)}
	go func() { p.done <- p.srv.Serve(ln) }()
	log.Info("memsight agent serving pprof", "address", ln.Addr().String(), "path", "/debug/pprof/")
	return p, nil
}

// Close stops the listener at once (a profile being taken is cut short) and
// waits for the server to return. A nil *pprofServer is no listener.
func (p *pprofServer) Close() error {
	if p == nil {
		return nil
	}
	err := p.srv.Close()
	if serr := <-p.done; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, fmt.Errorf("serving pprof: %w", serr))
	}
	return err
}
