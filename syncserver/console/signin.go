package console

import (
	"crypto/subtle"
	"net/http"
	"slices"
	"strings"

	"github.com/doorstep-health/doorstep/schema"
)

// signInData is the sign-in form's.
type signInData struct {
	CSRF    string
	Error   string
	Message string
}

func (c *console) handleSignInForm(w http.ResponseWriter, r *http.Request) {
	if s := c.sessionOf(r); s != nil {
		http.Redirect(w, r, homeOf(s.principal.Role), http.StatusSeeOther)
		return
	}
	msg := ""
	if r.URL.Query().Has("signedout") {
		msg = "You are signed out."
	}
	c.renderSignInMessage(w, r, http.StatusOK, "", msg)
}

// renderSignIn shows the form with an error, and a fresh pre-session
// CSRF cookie to go with it.
func (c *console) renderSignIn(w http.ResponseWriter, r *http.Request, status int, errMsg string) {
	c.renderSignInMessage(w, r, status, errMsg, "")
}

func (c *console) renderSignInMessage(w http.ResponseWriter, r *http.Request, status int, errMsg, msg string) {
	token := randomString()
	http.SetCookie(w, c.cookie(r, signInCookie, token, 3600))
	c.render(w, r, status, "signin", &page{Title: "Sign in", Data: signInData{CSRF: token, Error: errMsg, Message: msg}})
}

// handleSignIn checks a token and opens a session. Attempts are limited
// per client address; the form's CSRF token must match its cookie.
func (c *console) handleSignIn(w http.ResponseWriter, r *http.Request) {
	if !c.signins.allow(clientAddr(r)) {
		w.Header().Set("Retry-After", "10")
		c.renderSignIn(w, r, http.StatusTooManyRequests, "Too many sign-in attempts from this address. Wait a little and try again.")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		c.renderSignIn(w, r, http.StatusBadRequest, "The form could not be read.")
		return
	}
	ck, err := r.Cookie(signInCookie)
	form := r.PostFormValue(csrfField)
	if err != nil || form == "" || subtle.ConstantTimeCompare([]byte(ck.Value), []byte(form)) != 1 {
		c.renderSignIn(w, r, http.StatusForbidden, "The sign-in form had expired. Enter your token again.")
		return
	}
	token := strings.TrimSpace(r.PostFormValue("token"))
	if token == "" {
		c.renderSignIn(w, r, http.StatusUnauthorized, "Enter your token.")
		return
	}
	p, err := c.reg.Authenticate(r.Context(), token)
	switch {
	case schema.ErrorCode(err) == schema.EUNAUTHORIZED:
		c.renderSignIn(w, r, http.StatusUnauthorized, "That token is not known or has been revoked.")
		return
	case err != nil:
		c.fail(w, r, nil, err)
		return
	case !slices.Contains(consoleRoles, p.Role):
		c.renderSignIn(w, r, http.StatusForbidden, "A "+p.Role+" token cannot use the console; it takes a supervisor, printer or admin token.")
		return
	}
	id := c.sessions.create(p, token)
	http.SetCookie(w, c.cookie(r, signInCookie, "", -1))
	http.SetCookie(w, c.cookie(r, sessionCookie, id, 0))
	c.logger.Info("console sign-in", "token", p.Name, "role", p.Role, "client", clientAddr(r))
	http.Redirect(w, r, homeOf(p.Role), http.StatusSeeOther)
}

func (c *console) handleSignOut(w http.ResponseWriter, r *http.Request, s *session) error {
	c.sessions.delete(s)
	http.SetCookie(w, c.cookie(r, sessionCookie, "", -1))
	http.Redirect(w, r, Prefix+"/signin?signedout", http.StatusSeeOther)
	return nil
}
