// Package ui is the survey form in the laptop's browser: `surveyor ui`
// serves it on 127.0.0.1 over the same store, schema rules and sync as the
// command line (DESIGN.md §3).
//
// Only the browser that opened the address `surveyor ui` printed gets in:
// the address carries a random per-run secret, exchanged on the first visit
// for a random session id in an HttpOnly, SameSite=Strict cookie (the
// secret itself never goes into a cookie). The address names a random
// per-run host under .localhost, which browsers resolve to this laptop,
// and the form answers only to that name: its cookie is host-scoped, so
// no other server on 127.0.0.1 the browser visits ever receives it.
// Every POST must also carry the run's CSRF token, which only pages for
// a signed-in browser show. Requests must come from a loopback address
// (and name the run's host, so no DNS rebinding). Pages are html/template with one
// stylesheet and one small script, both embedded, under a
// Content-Security-Policy without 'unsafe-inline': the laptop is offline
// and the form still works with JavaScript off.
package ui

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/doorstep-health/doorstep/internal/webasset"
	"github.com/doorstep-health/doorstep/schema"
	"github.com/doorstep-health/doorstep/surveyor"
)

// Names of the secret's query parameter, the cookie it becomes and the
// CSRF form field and header.
const (
	secretParam  = "k"
	cookiePrefix = "doorstep_surveyor_"
	csrfField    = "csrf"
	csrfHeader   = "X-CSRF-Token"
	langCookie   = "doorstep_surveyor_lang"
)

// maxFormBytes bounds a posted form: fifty members of short fields.
const maxFormBytes = 256 << 10

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Syncer is the sync `surveyor sync` runs; *surveyor.Syncer is one.
type Syncer interface {
	Sync(ctx context.Context, opts surveyor.SyncOptions) (surveyor.SyncReport, error)
}

// Options change how New sets the form up. The zero value is the default.
type Options struct {
	Logger *slog.Logger
	// HTTPClient asks the sync server whether it is reachable (GET
	// /healthz); nil means a client with a three-second timeout.
	HTTPClient *http.Client
	// Secret is the per-run secret; empty means 256 random bits.
	Secret string
	// Host is the host name the form answers to; empty means a random
	// name under .localhost, made for this run.
	Host string
	// Now is the clock for "today" and validation; nil means time.Now.
	Now func() time.Time
}

// Server is the form's HTTP handler.
type Server struct {
	lap     Laptop
	syncer  Syncer
	logger  *slog.Logger
	hc      *http.Client
	now     func() time.Time
	secret  string
	host    string
	csrf    string
	pages   map[string]*template.Template
	cat     catalogue
	static  http.Handler
	version string
	mux     *http.ServeMux

	// base is the context background work (a sync) runs under; Serve
	// sets it so Ctrl-C stops a running sync too.
	baseMu sync.Mutex
	base   context.Context

	net    netState
	syncMu sync.Mutex
	sync   syncState

	sessMu   sync.Mutex
	sessions map[string]bool

	search    searchCache
	lists     listCache
	submitted submittedForms
}

// New returns the form over lap, syncing with syncer.
func New(lap Laptop, syncer Syncer, opts Options) *Server {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: 3 * time.Second}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Secret == "" {
		opts.Secret = randomString()
	}
	if opts.Host == "" {
		opts.Host = randomHost()
	}
	s := &Server{
		lap: lap, syncer: syncer, logger: opts.Logger, hc: opts.HTTPClient, now: opts.Now,
		secret: opts.Secret, host: strings.ToLower(opts.Host), csrf: randomString(), sessions: map[string]bool{},
		pages: parsePages(), cat: loadCatalogue(), version: staticVersion(),
		mux: http.NewServeMux(), base: context.Background(),
	}
	s.search.keys = map[string]string{}
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	s.static = http.StripPrefix("/static/", http.FileServerFS(sub))
	s.routes()
	return s
}

// Secret is the run's secret, for the address to print.
func (s *Server) Secret() string { return s.secret }

// Host is the host name the form answers to.
func (s *Server) Host() string { return s.host }

// URL is the address a worker opens: the run's host name at the
// listener's port, with the secret.
func (s *Server) URL(addr net.Addr) string {
	port := "80"
	if _, p, err := net.SplitHostPort(addr.String()); err == nil {
		port = p
	}
	return "http://" + net.JoinHostPort(s.host, port) + "/?" + secretParam + "=" + url.QueryEscape(s.secret)
}

// Serve answers on ln until ctx ends, then shuts down, letting requests
// in flight finish for up to five seconds.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	s.baseMu.Lock()
	s.base = ctx
	s.baseMu.Unlock()
	hs := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second, ReadTimeout: time.Minute,
		ErrorLog: slog.NewLogLogger(s.logger.Handler(), slog.LevelWarn)}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		return err
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func (s *Server) baseContext() context.Context {
	s.baseMu.Lock()
	defer s.baseMu.Unlock()
	return s.base
}

// CheckAddr accepts a listen address only on a loopback interface:
// 127.0.0.0/8, ::1 or localhost. The form shows persons' data and must not
// be reachable from the network.
func CheckAddr(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return &schema.Error{Code: schema.EINVALID, Field: "addr", Rule: "host_port",
			Message: fmt.Sprintf("must be host:port, like 127.0.0.1:0, not %q", addr)}
	}
	if !loopbackHost(host) {
		return &schema.Error{Code: schema.EINVALID, Field: "addr", Rule: "loopback",
			Message: fmt.Sprintf("must be on this laptop only (127.0.0.1, ::1 or localhost), not %q: the form shows persons' data", host)}
	}
	return nil
}

func loopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (s *Server) routes() {
	m := s.mux
	m.HandleFunc("GET /{$}", s.page(s.handleList))
	m.HandleFunc("GET /static/", s.handleStatic)
	m.HandleFunc("GET /enrol", s.page(s.handleEnrolForm))
	m.HandleFunc("POST /enrol", s.post(s.handleEnrolPost))
	m.HandleFunc("GET /households/{id}/edit", s.page(s.handleEditForm))
	m.HandleFunc("POST /households/{id}", s.post(s.handleEditPost))
	m.HandleFunc("POST /drafts/{id}/discard", s.post(s.handleDiscardDraft))
	m.HandleFunc("POST /sync", s.post(s.handleSyncPost))
	m.HandleFunc("POST /lang", s.post(s.handleLang))
	m.HandleFunc("POST /api/validate", s.post(s.handleValidate))
	m.HandleFunc("POST /api/draft", s.post(s.handleSaveDraft))
	m.HandleFunc("GET /api/places", s.page(s.handlePlaces))
	m.HandleFunc("GET /api/sync", s.page(s.handleSyncState))
	m.HandleFunc("/", s.page(func(w http.ResponseWriter, r *http.Request) error {
		return schema.Errorf(schema.ENOTFOUND, "There is no such page.")
	}))
}

// ServeHTTP sets the security headers every answer carries, admits only
// loopback requests, then routes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// same-origin, not no-referrer: with no-referrer browsers send
	// "Origin: null" on form posts, which the origin check refuses.
	webasset.SetSecurityHeaders(w.Header(), "same-origin")
	if !s.loopbackRequest(r) {
		http.Error(w, "the survey form answers only on this laptop (127.0.0.1)", http.StatusForbidden)
		return
	}
	s.mux.ServeHTTP(w, r)
}

// loopbackRequest says the connection comes from this machine and the
// browser asked for the run's host name, so a web page whose name was
// pointed at 127.0.0.1 (DNS rebinding) cannot talk to the form, and the
// form's cookie stays with that name alone.
func (s *Server) loopbackRequest(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return false
	}
	name := r.Host
	if h, _, err := net.SplitHostPort(name); err == nil {
		name = h
	}
	return strings.EqualFold(name, s.host)
}

func (s *Server) handleStatic(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "public, max-age=86400")
	s.static.ServeHTTP(w, r)
}

// cookieName is per port: two forms on one laptop keep their own cookies
// (browsers do not separate cookies by port).
func cookieName(r *http.Request) string {
	_, port, err := net.SplitHostPort(r.Host)
	if err != nil || port == "" {
		port = "80"
	}
	return cookiePrefix + port
}

// authed says the request carries a session id this run gave out.
func (s *Server) authed(r *http.Request) bool {
	c, err := r.Cookie(cookieName(r))
	if err != nil || c.Value == "" {
		return false
	}
	s.sessMu.Lock()
	defer s.sessMu.Unlock()
	return s.sessions[c.Value]
}

// newSession is a random session id for a browser that brought the
// secret: the cookie carries it, never the secret.
func (s *Server) newSession() string {
	id := randomString()
	s.sessMu.Lock()
	s.sessions[id] = true
	s.sessMu.Unlock()
	return id
}

func equal(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// handlerFunc is a page, form or JSON endpoint; a returned error becomes
// an error page or a JSON problem.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// page admits GET requests with the run's cookie. The first visit brings
// the secret in the query instead: it earns a session cookie, and the browser
// is sent to the same page without it, so the secret does not stay in
// the address bar.
func (s *Server) page(h handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if k := r.URL.Query().Get(secretParam); k != "" {
			if !equal(k, s.secret) {
				s.forbidden(w, r)
				return
			}
			http.SetCookie(w, &http.Cookie{Name: cookieName(r), Value: s.newSession(), Path: "/",
				HttpOnly: true, SameSite: http.SameSiteStrictMode})
			q := r.URL.Query()
			q.Del(secretParam)
			u := *r.URL
			u.RawQuery = q.Encode()
			http.Redirect(w, r, u.RequestURI(), http.StatusSeeOther)
			return
		}
		if !s.authed(r) {
			s.forbidden(w, r)
			return
		}
		if err := h(w, r); err != nil {
			s.fail(w, r, err)
		}
	}
}

// post admits a POST with the run's cookie, the run's CSRF token (form
// field or header) and, when the browser says where it came from, this
// same origin.
func (s *Server) post(h handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !s.authed(r) {
			s.forbidden(w, r)
			return
		}
		if o := r.Header.Get("Origin"); o != "" && o != "http://"+r.Host {
			s.forbidden(w, r)
			return
		}
		if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
			s.forbidden(w, r)
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		if err := r.ParseForm(); err != nil {
			s.fail(w, r, schema.Errorf(schema.EMALFORMED, "the form could not be read"))
			return
		}
		tok := r.Header.Get(csrfHeader)
		if tok == "" {
			tok = r.PostFormValue(csrfField)
		}
		if !equal(tok, s.csrf) {
			s.fail(w, r, schema.Errorf(schema.EFORBIDDEN,
				"This form did not come from this run of the survey form (it may be from before it was restarted). Reload the page and try again; what you typed is kept in the draft."))
			return
		}
		if err := h(w, r); err != nil {
			s.fail(w, r, err)
		}
	}
}

func (s *Server) forbidden(w http.ResponseWriter, r *http.Request) {
	s.fail(w, r, schema.Errorf(schema.EFORBIDDEN,
		"Open the survey form with the address that `surveyor ui` printed in its window; it holds this run's key."))
}

// wantsJSON says the request came from the page's script.
func wantsJSON(r *http.Request) bool {
	return strings.HasPrefix(r.URL.Path, "/api/") || strings.Contains(r.Header.Get("Accept"), "application/json")
}

// fail answers err as a JSON problem or an error page with its status.
// Internal errors go to the log; the answer says only that something
// went wrong.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	status := statusOf(schema.ErrorCode(err))
	msg := schema.ErrorMessage(err)
	if status >= 500 {
		s.logger.Error("survey form", "method", r.Method, "path", r.URL.Path, "err", err)
		msg = "Something went wrong on this laptop; the details are in the window where `surveyor ui` runs."
	}
	if wantsJSON(r) {
		writeJSON(w, status, map[string]string{"code": schema.ErrorCode(err), "message": msg})
		return
	}
	s.render(w, r, status, "error", &page{Title: http.StatusText(status), Data: errorData{Status: status, Message: msg}})
}

type errorData struct {
	Status  int
	Message string
}

// statusOf turns an error code into a status, as the server's API does.
func statusOf(code string) int {
	switch code {
	case schema.EINVALID:
		return http.StatusUnprocessableEntity
	case schema.ENOTFOUND:
		return http.StatusNotFound
	case schema.ECONFLICT, schema.ESTALE:
		return http.StatusConflict
	case schema.EUNAUTHORIZED, schema.ENOTREGISTERD:
		return http.StatusUnauthorized
	case schema.EFORBIDDEN:
		return http.StatusForbidden
	case schema.EMALFORMED:
		return http.StatusBadRequest
	case schema.ETOOLARGE:
		return http.StatusRequestEntityTooLarge
	case schema.EUNAVAILABLE:
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}

// page is what every template gets.
type page struct {
	Title   string
	Nav     string
	Lang    string
	CSRF    string
	Version string
	Flash   string
	Net     *netView
	Data    any

	msgs  map[string]string
	langs []language
}

// T is the catalogue's text for key in the page's language, English when
// the language lacks it, the key itself when English does too.
func (p *page) T(key string) string {
	if s, ok := p.msgs[key]; ok {
		return s
	}
	return key
}

// render writes a page whole: a template that fails halfway is a 500,
// never half a page.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, p *page) {
	t, ok := s.pages[name]
	if !ok {
		panic("ui: no template " + name)
	}
	p.Lang = s.lang(r)
	p.msgs = s.cat.messages(p.Lang)
	p.langs = s.cat.langs
	if s.authed(r) {
		// Only a signed-in browser's pages carry the token.
		p.CSRF = s.csrf
	}
	p.Version = s.version
	webasset.WritePage(w, s.logger.With("page", name), "survey form", t, status, p)
}

// handleLang switches the labels' language and goes back where the
// worker was.
func (s *Server) handleLang(w http.ResponseWriter, r *http.Request) error {
	lang := r.PostFormValue("lang")
	if !s.cat.has(lang) {
		return &schema.Error{Code: schema.EINVALID, Field: "lang", Rule: "one_of", Message: "is not a language of this form"}
	}
	http.SetCookie(w, &http.Cookie{Name: langCookie, Value: lang, Path: "/", MaxAge: 365 * 24 * 3600,
		HttpOnly: true, SameSite: http.SameSiteStrictMode})
	back := localPath(r.PostFormValue("back"), "/")
	http.Redirect(w, r, back, http.StatusSeeOther)
	return nil
}

// localPath is back when it is a path on this site (no scheme, no host,
// one leading slash, no backslash or control character), else def: a
// redirect to it cannot leave the form.
func localPath(back, def string) string {
	if back == "" || !strings.HasPrefix(back, "/") || strings.HasPrefix(back, "//") || strings.Contains(back, "\\") {
		return def
	}
	for _, c := range back {
		if c < 0x20 || c == 0x7f {
			return def
		}
	}
	u, err := url.Parse(back)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" ||
		!strings.HasPrefix(u.Path, "/") || strings.HasPrefix(u.Path, "//") {
		return def
	}
	return back
}

func (s *Server) lang(r *http.Request) string {
	if c, err := r.Cookie(langCookie); err == nil && s.cat.has(c.Value) {
		return c.Value
	}
	return defaultLang
}

// randomHost is a host name under .localhost for one run: browsers
// resolve every *.localhost name to this laptop, and keep its cookies
// apart from 127.0.0.1's and other runs'.
func randomHost() string {
	b := make([]byte, 10)
	rand.Read(b)
	return "survey-" + hex.EncodeToString(b) + ".localhost"
}

func randomString() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand panics rather)
	return base64.RawURLEncoding.EncodeToString(b)
}

// staticVersion names the static files' content, for cache busting.
func staticVersion() string { return webasset.Version(staticFS, "static") }
