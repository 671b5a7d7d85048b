package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/memsight/memsight/pkg/agent"
	"github.com/memsight/memsight/pkg/export/api"
	"github.com/memsight/memsight/pkg/export/term"
	"github.com/memsight/memsight/pkg/model"
)

// topSource is where top's frames come from.
type topSource interface {
	// view returns the node's Go processes now.
	view(ctx context.Context) (term.View, error)
	// close releases the source; the engine detaches from every process.
	close() error
}

// engineSource is an in-process agent watching every Go process of the node.
type engineSource struct {
	eng    *engine
	name   string
	cancel context.CancelFunc
	done   chan error // Run's result
}

// startEngine loads the probes and runs an agent until close.
func startEngine(ctx context.Context, g *globalOptions, cfg agent.Config) (*engineSource, error) {
	eng, err := newEngine(g, cfg, false)
	if err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	ctx, cancel := context.WithCancel(ctx)
	s := &engineSource{eng: eng, name: "node " + host, cancel: cancel, done: make(chan error, 1)}
	go func() { s.done <- eng.ag.Run(ctx) }()
	return s, nil
}

// waitReady waits (up to timeout) until the initial scan is inspected and
// every watched process has its first sample, so the first frame is whole.
func (s *engineSource) waitReady(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		snap := s.eng.ag.Snapshot()
		if snap.Stats.Ready && allSampled(snap.Processes) {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case err := <-s.done:
			s.done <- err
			return s.runErr(err)
		case <-time.After(50 * time.Millisecond):
		}
	}
	return nil
}

func allSampled(ps []model.Process) bool {
	for _, p := range ps {
		if p.State == model.StateWatching && p.Sample == nil {
			return false
		}
	}
	return true
}

func (s *engineSource) view(context.Context) (term.View, error) {
	select {
	case err := <-s.done: // the agent stopped on its own
		s.done <- err
		return term.View{}, s.runErr(err)
	default:
	}
	snap := s.eng.ag.Snapshot()
	return term.View{Time: snap.Time, Source: s.name, Processes: snap.Processes}, nil
}

func (s *engineSource) runErr(err error) error {
	if err == nil {
		return errors.New("the in-process agent stopped")
	}
	return fmt.Errorf("watching the node: %w", err)
}

func (s *engineSource) close() error {
	s.cancel()
	err := <-s.done
	s.done <- err
	s.eng.Close()
	return err
}

// httpSource reads a running agent's JSON API (pkg/export/api).
type httpSource struct {
	base   *url.URL
	client *http.Client
}

// maxFetches bounds the concurrent per-process requests to the agent.
const maxFetches = 8

// parseFrom checks --from: the agent's http(s) base URL, "http://" assumed.
func parseFrom(from string) (*url.URL, error) {
	raw := from
	if !strings.Contains(raw, "://") {
		raw = "http://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Port() == "0" {
		return nil, usagef("--from %q: want the agent's address, such as http://127.0.0.1:9464 (kubectl port-forward to the agent's pod, port 9464)", from)
	}
	u.Path, u.RawQuery, u.Fragment = strings.TrimSuffix(u.Path, "/"), "", ""
	return u, nil
}

func (s *httpSource) close() error { s.client.CloseIdleConnections(); return nil }

// view lists the agent's processes, then fetches each watched one's latest
// sample (heap, goroutines, finalizers, findings with their stacks).
func (s *httpSource) view(ctx context.Context) (term.View, error) {
	var list api.ProcessList
	if err := s.get(ctx, "/api/v1/processes", &list); err != nil {
		return term.View{}, err
	}
	v := term.View{Time: list.Time, Source: "agent " + s.base.Redacted(), Processes: make([]model.Process, len(list.Processes))}
	var wg sync.WaitGroup
	sem := make(chan struct{}, maxFetches)
	errs := make([]error, len(list.Processes))
	for i, pv := range list.Processes {
		v.Processes[i] = pv.Process
		if pv.State != model.StateWatching || pv.SampledAt == nil {
			continue
		}
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			var smp model.Sample
			err := s.get(ctx, "/api/v1/processes/"+strconv.Itoa(pv.PID), &smp)
			var st statusError
			switch {
			case err == nil:
				v.Processes[i].Sample = &smp
			case errors.As(err, &st) && st.code == http.StatusNotFound:
				v.Processes[i].Sample = summarySample(pv) // exited meanwhile
			default:
				errs[i] = err
			}
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return v, err // the first is enough: they share a cause
		}
	}
	return v, nil
}

// summarySample is what the list says of a process: its RSS and findings.
func summarySample(pv api.ProcessView) *model.Sample {
	s := &model.Sample{PID: pv.PID, Time: *pv.SampledAt}
	if pv.RSSBytes != nil {
		s.RSSBytes = *pv.RSSBytes
	}
	for _, k := range pv.Findings {
		s.Findings = append(s.Findings, model.Finding{Kind: k})
	}
	return s
}

// statusError is a non-200 answer of the agent.
type statusError struct {
	code int
	msg  string
}

func (e statusError) Error() string { return e.msg }

// get fetches path and decodes its JSON body into dst.
func (s *httpSource) get(ctx context.Context, path string, dst any) error {
	u := s.base.JoinPath(path).String()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("agent at %s: %w", s.base.Redacted(), err)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("agent at %s unreachable: %w (is memsight agent running there, or kubectl port-forward?)", s.base.Redacted(), unwrapURL(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return statusError{resp.StatusCode, fmt.Sprintf("agent at %s: GET %s: %s: %s (is it a memsight agent?)",
			s.base.Redacted(), path, resp.Status, term.Clean(strings.TrimSpace(string(b))))}
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(dst); err != nil {
		return fmt.Errorf("agent at %s: GET %s: decoding the answer: %w (is it a memsight agent?)", s.base.Redacted(), path, err)
	}
	return nil
}

// unwrapURL drops url.Error's "Get "...": " prefix, which repeats the URL.
func unwrapURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
