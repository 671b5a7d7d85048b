package web

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// ui holds the page: index.html, app.js and style.css.
//
//go:embed ui
var ui embed.FS

// contentSecurityPolicy lets the page load only its own script, style
// sheet and API: no inline script, no other origin.
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// Config configures the handler.
type Config struct {
	Recorder *Recorder
	Logger   *slog.Logger // nil discards
}

// Routes returns the patterns the handler serves, for the agent to
// register each on its mux (the rest of the API is package api's).
func Routes() []string { return []string{"GET /{$}", "GET /ui/", "GET /api/v1/history"} }

// New returns the handler of the page, its files and /api/v1/history.
func New(cfg Config) (http.Handler, error) {
	if cfg.Recorder == nil {
		return nil, fmt.Errorf("web: Config.Recorder is required (see NewRecorder)")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	files, err := fs.Sub(ui, "ui")
	if err != nil {
		return nil, fmt.Errorf("web: opening the embedded page: %w", err)
	}
	s := &server{rec: cfg.Recorder, log: cfg.Logger.With("component", "web")}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		secure(w)
		http.ServeFileFS(w, r, files, "index.html")
	})
	static := http.StripPrefix("/ui/", http.FileServerFS(files))
	mux.HandleFunc("GET /ui/", func(w http.ResponseWriter, r *http.Request) {
		secure(w)
		if strings.HasSuffix(r.URL.Path, "/") { // no directory listings
			http.NotFound(w, r)
			return
		}
		static.ServeHTTP(w, r)
	})
	mux.HandleFunc("GET /api/v1/history", s.history)
	return mux, nil
}

// secure sets the headers of every file of the page.
func secure(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-cache")
}

type server struct {
	rec *Recorder
	log *slog.Logger
}

// history serves GET /api/v1/history[?pid=N][&since=UNIX_MS].
func (s *server) history(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	pid := 0
	if v := q.Get("pid"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			s.error(w, http.StatusBadRequest, fmt.Sprintf("pid must be a positive integer, got %q", v))
			return
		}
		pid = n
	}
	var since time.Time
	if v := q.Get("since"); v != "" {
		ms, err := strconv.ParseInt(v, 10, 64)
		if err != nil || ms < 0 {
			s.error(w, http.StatusBadRequest, fmt.Sprintf("since must be a time in Unix milliseconds, got %q", v))
			return
		}
		since = time.UnixMilli(ms)
	}
	s.write(w, http.StatusOK, s.rec.History(pid, since))
}

func (s *server) error(w http.ResponseWriter, code int, msg string) {
	s.write(w, code, map[string]string{"error": msg})
}

func (s *server) write(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	if err := json.NewEncoder(w).Encode(v); err != nil {
		s.log.Debug("writing response", "error", err)
	}
}
