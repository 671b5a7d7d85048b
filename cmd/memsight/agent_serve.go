package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/exporter-toolkit/web"
	"github.com/spf13/pflag"

	"github.com/memsight/memsight/pkg/config"
)

// webFlags are the agent's flags about how its HTTP server is protected.
type webFlags struct {
	configFile, healthListen string
}

func addWebFlags(f *pflag.FlagSet, w *webFlags) {
	f.StringVar(&w.configFile, "web.config.file", "", "Prometheus web configuration file for the --listen server: TLS, client certificates, basic auth (docs/security.md#the-http-endpoint)")
	f.StringVar(&w.healthListen, "health-listen", "", "also serve /healthz and /readyz, without TLS or auth, on this address (for the kubelet's probes when --web.config.file or a proxy protects --listen)")
}

// applyWebFlags puts the web flags given on the command line over s.
func applyWebFlags(s *config.Settings, flags *pflag.FlagSet, w webFlags) {
	if flags.Changed("web.config.file") {
		s.WebConfigFile = w.configFile
	}
	if flags.Changed("health-listen") {
		s.HealthListen = w.healthListen
	}
}

// agentHTTP is the agent's HTTP server on --listen, protected as the web
// configuration file says, and the optional health server.
type agentHTTP struct {
	srv, health       *http.Server
	ln, healthLn      net.Listener
	webConfig, listen string
	log               *slog.Logger
}

// checkWebConfig reads the web configuration file, its certificates and
// password hashes, as the server will.
func checkWebConfig(s config.Settings) error {
	if err := web.Validate(s.WebConfigFile); err != nil {
		msg := strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), ":\n", ":")), " ") // yaml's errors span lines
		return usagef("--web.config.file %s: %s (the format: https://prometheus.io/docs/prometheus/latest/configuration/https/)", s.WebConfigFile, msg)
	}
	return nil
}

// listenHTTP checks the web configuration file (its certificates and
// password hashes) and listens on s.Listen and s.HealthListen. health
// serves /healthz and /readyz on the health address.
func listenHTTP(s config.Settings, h, health http.Handler, log *slog.Logger) (*agentHTTP, error) {
	if err := checkWebConfig(s); err != nil {
		return nil, err
	}
	a := &agentHTTP{
		srv:       &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second},
		webConfig: s.WebConfigFile, listen: s.Listen,
		log: log.With("component", "http"),
	}
	var err error
	if a.ln, err = net.Listen("tcp", s.Listen); err != nil {
		return nil, fmt.Errorf("listening on --listen %s: %w", s.Listen, err)
	}
	if s.HealthListen != "" {
		if a.healthLn, err = net.Listen("tcp", s.HealthListen); err != nil {
			a.ln.Close()
			return nil, fmt.Errorf("listening on --health-listen %s: %w", s.HealthListen, err)
		}
		mux := http.NewServeMux()
		mux.Handle("GET /healthz", health)
		mux.Handle("GET /readyz", health)
		a.health = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	}
	return a, nil
}

// addr is the address the main server listens on.
func (a *agentHTTP) addr() string { return a.ln.Addr().String() }

// healthAddr is the address the health server listens on, "" without one.
func (a *agentHTTP) healthAddr() string {
	if a.healthLn == nil {
		return ""
	}
	return a.healthLn.Addr().String()
}

// serve serves until shutdown or until a server fails; then both stop.
func (a *agentHTTP) serve() error {
	errc := make(chan error, 2)
	n := 1
	go func() {
		errc <- web.Serve(a.ln, a.srv, &web.FlagConfig{WebConfigFile: &a.webConfig}, a.log)
	}()
	if a.health != nil {
		n++
		go func() { errc <- a.health.Serve(a.healthLn) }()
	}
	err := <-errc
	a.shutdown(time.Second) // the other server too
	for range n - 1 {
		if e := <-errc; !errors.Is(e, http.ErrServerClosed) {
			err = errors.Join(err, e)
		}
	}
	return err
}

// shutdown stops both servers, letting requests in flight finish within
// timeout.
func (a *agentHTTP) shutdown(timeout time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	_ = a.srv.Shutdown(ctx)
	if a.health != nil {
		_ = a.health.Shutdown(ctx)
	}
}

// close releases the listeners of servers that never started serving.
func (a *agentHTTP) close() {
	_ = a.ln.Close()
	if a.healthLn != nil {
		_ = a.healthLn.Close()
	}
}
