// Package console serves the supervisor console: server-rendered pages
// over the registry for supervisors (review tasks, enrolment progress,
// people) and printing centres (the print queue), at /console/.
//
// It asks for no bearer token: a person signs in once with their
// supervisor, printer or admin token and gets a session cookie. Every page
// and form checks the session's role on the server; the menu only hides
// what the role cannot use. Pages are html/template with one stylesheet
// and one small script, both embedded, so the console works on a closed
// network and under a Content-Security-Policy without 'unsafe-inline'.
package console

import (
	"context"
	"embed"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"github.com/doorstep-health/doorstep/internal/webasset"
	"github.com/doorstep-health/doorstep/schema"
	"github.com/doorstep-health/doorstep/syncserver/store"
)

// Prefix is where the console is mounted; its pages and cookie live under it.
const Prefix = "/console"

// Roles of the console's two halves (DESIGN.md §9).
var (
	supervisorRoles = []string{schema.RoleAdmin, schema.RoleSupervisor}
	printerRoles    = []string{schema.RoleAdmin, schema.RolePrinter}
	consoleRoles    = []string{schema.RoleAdmin, schema.RoleSupervisor, schema.RolePrinter}
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Options changes how Handler sets the console up. The zero value is the
// production default.
type Options struct {
	// SessionIdle ends a session unused this long (default 2h);
	// SessionMax ends any session this long after sign-in (default 12h).
	SessionIdle, SessionMax time.Duration
	// SignInRate and SignInBurst limit sign-in attempts per client
	// address (default one every 2 seconds, bursts of 10), so guessing
	// tokens through the form goes no faster than through the API.
	SignInRate  rate.Limit
	SignInBurst int
	// SecureCookie marks the cookies Secure on plain HTTP too, for a
	// console behind a proxy that ends TLS; a TLS request always gets it.
	SecureCookie bool

	now func() time.Time // tests move the clock
}

// console is the handler behind Handler.
type console struct {
	reg      Registry
	logger   *slog.Logger
	opts     Options
	sessions *sessions
	signins  *addrLimiter
	leases   *leases
	pages    map[string]*template.Template
	static   http.Handler
	version  string // of the static files, for cache busting
	mux      *http.ServeMux
}

// Handler returns the console over reg. Mount it so that it sees the full
// path, /console/…; httpapi does.
func Handler(reg Registry, logger *slog.Logger, opts Options) http.Handler {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if opts.SessionIdle <= 0 {
		opts.SessionIdle = 2 * time.Hour
	}
	if opts.SessionMax <= 0 {
		opts.SessionMax = 12 * time.Hour
	}
	if opts.SignInRate <= 0 {
		opts.SignInRate = rate.Every(2 * time.Second)
	}
	if opts.SignInBurst <= 0 {
		opts.SignInBurst = 10
	}
	if opts.now == nil {
		opts.now = time.Now
	}
	c := &console{
		reg:      reg,
		logger:   logger,
		opts:     opts,
		sessions: newSessions(opts.SessionIdle, opts.SessionMax, opts.now),
		signins:  newAddrLimiter(opts.SignInRate, opts.SignInBurst, opts.now),
		leases:   newLeases(opts.now),
		pages:    parsePages(),
		version:  staticVersion(),
		mux:      http.NewServeMux(),
	}
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	c.static = http.StripPrefix(Prefix+"/static/", http.FileServerFS(sub))
	c.routes()
	return c
}

func (c *console) routes() {
	m := c.mux
	m.HandleFunc("GET "+Prefix, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, Prefix+"/", http.StatusSeeOther)
	})
	m.HandleFunc("GET "+Prefix+"/{$}", c.handleHome)
	m.HandleFunc("GET "+Prefix+"/static/", c.handleStatic)
	m.HandleFunc("GET "+Prefix+"/signin", c.handleSignInForm)
	m.HandleFunc("POST "+Prefix+"/signin", c.handleSignIn)
	for _, rt := range c.sessionRoutes() {
		m.HandleFunc(rt.method+" "+Prefix+rt.path, c.auth(rt.roles, rt.handle))
	}
	m.HandleFunc(Prefix+"/", func(w http.ResponseWriter, r *http.Request) {
		c.render(w, r, http.StatusNotFound, "error", &page{Title: "Not found", Session: c.sessionOf(r),
			Data: errorData{Status: http.StatusNotFound, Message: "There is no such page in the console."}})
	})
}

// route is a page or form that needs a session, and the roles it admits.
type route struct {
	method, path string
	roles        []string
	handle       handlerFunc
}

// sessionRoutes lists every page and form behind sign-in, so one table
// says who may use what (and the tests hold each one to it).
func (c *console) sessionRoutes() []route {
	return []route{
		{"POST", "/signout", consoleRoles, c.handleSignOut},

		{"GET", "/review", supervisorRoles, c.handleReviewQueue},
		{"GET", "/review/next", supervisorRoles, c.handleReviewNext},
		{"GET", "/review/{id}", supervisorRoles, c.handleReviewTask},
		{"POST", "/review/{id}", supervisorRoles, c.handleDecide},
		{"GET", "/progress", supervisorRoles, c.handleProgress},
		{"GET", "/people", supervisorRoles, c.handlePeople},
		{"GET", "/people/{hid}", supervisorRoles, c.handlePerson},

		{"GET", "/print", printerRoles, c.handlePrintQueue},
		{"GET", "/print/jobs", printerRoles, c.handleOpenJob},
		{"POST", "/print/jobs", printerRoles, c.handleCreateJob},
		{"GET", "/print/jobs/{id}", printerRoles, c.handleJob},
		{"GET", "/print/jobs/{id}/sheet.pdf", printerRoles, c.handleJobSheet},
		{"POST", "/print/jobs/{id}/{action}", printerRoles, c.handleChangeJob},
	}
}

// ServeHTTP sets the security headers every answer carries, pages and
// files alike, then routes.
func (c *console) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	webasset.SetSecurityHeaders(w.Header(), "no-referrer")
	c.mux.ServeHTTP(w, r)
}

func (c *console) handleStatic(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "public, max-age=86400")
	c.static.ServeHTTP(w, r)
}

// handleHome sends a signed-in user to the first page of their role.
func (c *console) handleHome(w http.ResponseWriter, r *http.Request) {
	s := c.sessionOf(r)
	if s == nil {
		http.Redirect(w, r, Prefix+"/signin", http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, homeOf(s.principal.Role), http.StatusSeeOther)
}

func homeOf(role string) string {
	if role == schema.RolePrinter {
		return Prefix + "/print"
	}
	return Prefix + "/review"
}

// handlerFunc is a console page or form with its session.
type handlerFunc func(w http.ResponseWriter, r *http.Request, s *session) error

// auth admits requests of a live session whose role is one of roles. A
// GET without a session goes to the sign-in form; a POST must carry the
// session's CSRF token (403 otherwise) before its role is looked at; a
// role outside roles is a 403 on every method.
func (c *console) auth(roles []string, h handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s := c.sessionOf(r)
		if s == nil {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, Prefix+"/signin", http.StatusSeeOther)
				return
			}
			c.renderSignIn(w, r, http.StatusUnauthorized, "Your session has ended. Sign in again.")
			return
		}
		if r.Method == http.MethodPost {
			r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
			if err := r.ParseForm(); err != nil {
				c.fail(w, r, s, schema.Errorf(schema.EMALFORMED, "the form could not be read"))
				return
			}
			if !s.checkCSRF(r.PostFormValue(csrfField)) {
				c.fail(w, r, s, schema.Errorf(schema.EFORBIDDEN,
					"This form did not come from this console session (it may be from before you signed in again). Reload the page and try again."))
				return
			}
		}
		if !slices.Contains(roles, s.principal.Role) {
			c.fail(w, r, s, schema.Errorf(schema.EFORBIDDEN, "A %s token cannot use this page; it needs the role %s.",
				s.principal.Role, strings.Join(roles, " or ")))
			return
		}
		if err := h(w, r, s); err != nil {
			c.fail(w, r, s, err)
		}
	}
}

// maxFormBytes bounds a console form: a token, a few words and numbers.
const maxFormBytes = 64 << 10

// clientAddr is the address the connection came from, as the API takes
// it (echo's direct IP): a client-written X-Forwarded-For is not trusted.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// page is what every template gets.
type page struct {
	Title   string
	Nav     string // the menu item to mark current
	Session *session
	Flash   string
	Version string
	Data    any
}

// User is the signed-in principal, for the layout.
func (p *page) User() *store.Principal {
	if p.Session == nil {
		return nil
	}
	return &p.Session.principal
}

// CSRF is the session's form token.
func (p *page) CSRF() string {
	if p.Session == nil {
		return ""
	}
	return p.Session.csrf
}

// CanReview and CanPrint decide which menu items show.
func (p *page) CanReview() bool {
	return p.Session != nil && slices.Contains(supervisorRoles, p.Session.principal.Role)
}

func (p *page) CanPrint() bool {
	return p.Session != nil && slices.Contains(printerRoles, p.Session.principal.Role)
}

// render writes a page whole: a template that fails halfway is a 500,
// never half a page.
func (c *console) render(w http.ResponseWriter, r *http.Request, status int, name string, p *page) {
	t, ok := c.pages[name]
	if !ok {
		panic("console: no template " + name)
	}
	if p.Session != nil && p.Flash == "" {
		p.Flash = p.Session.takeFlash()
	}
	p.Version = c.version
	webasset.WritePage(w, c.logger.With("page", name), "console", t, status, p)
}

// errorData is the error page's.
type errorData struct {
	Status  int
	Message string
}

// fail shows err as an error page with its status. Internal errors go to
// the log; the page says only that something went wrong.
func (c *console) fail(w http.ResponseWriter, r *http.Request, s *session, err error) {
	status := statusOf(schema.ErrorCode(err))
	msg := schema.ErrorMessage(err)
	if status >= 500 {
		c.logger.Error("console", "method", r.Method, "path", r.URL.Path, "err", err)
		msg = "Something went wrong on the server; the details are in its log."
	}
	c.render(w, r, status, "error", &page{Title: http.StatusText(status), Session: s,
		Data: errorData{Status: status, Message: msg}})
}

// statusOf turns an error code into the page's status, as the API does.
func statusOf(code string) int { return schema.StatusForCode(code) }

// auditedCtx marks the request's context with the session's reader, so
// the store audits reads of persons' data as it does the API's.
func auditedCtx(r *http.Request, s *session) context.Context {
	return store.WithReader(r.Context(), store.Reader{Principal: s.principal, Client: clientAddr(r)})
}

// staticVersion names the static files' content, for cache busting.
func staticVersion() string { return webasset.Version(staticFS, "static") }
