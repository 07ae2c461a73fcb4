package console

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/doorstep-health/doorstep/schema"
	"github.com/doorstep-health/doorstep/syncserver/store"
)

// Cookie and form names.
const (
	sessionCookie = "doorstep_console"
	// signInCookie carries the sign-in form's CSRF token before there is a
	// session (a double-submit cookie): a cross-site form cannot read it,
	// and SameSite=Strict keeps the browser from sending it along.
	signInCookie = "doorstep_console_signin"
	csrfField    = "csrf"
)

// maxSessions bounds the sessions held in memory; signing in past it
// drops the least recently used. The sign-in rate limit keeps a stranger
// far from it.
const maxSessions = 10000

// session is one signed-in browser. Sessions live in the server's memory
// only: a restart signs everyone out.
type session struct {
	key       [sha256.Size]byte
	token     string // the token signed in with, checked again at each request
	principal store.Principal
	csrf      string
	created   time.Time

	mu       sync.Mutex
	lastSeen time.Time
	flash    string // a one-time message for the next page
	// nonces are the one-time tokens of forms that must not act twice
	// (a double click on "Make print job"), oldest first in nonceOrder.
	nonces     map[string]*formNonce
	nonceOrder []string
}

// maxNonces bounds the form nonces a session holds; issuing past it drops
// the oldest, whose form then asks to be reloaded.
const maxNonces = 256

// formNonce is one form's one-time token. The first POST with it claims
// it and does the work; a repeat waits for that and is sent to its result.
type formNonce struct {
	claimed bool
	done    chan struct{} // closed when the first POST has finished
	result  int64         // what the first POST made (a print job)
	err     error
}

// issueNonce returns a new one-time token for a form of this session.
func (s *session) issueNonce() string {
	n := randomString()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.nonces == nil {
		s.nonces = make(map[string]*formNonce)
	}
	for len(s.nonceOrder) >= maxNonces {
		delete(s.nonces, s.nonceOrder[0])
		s.nonceOrder = s.nonceOrder[1:]
	}
	s.nonces[n] = &formNonce{done: make(chan struct{})}
	s.nonceOrder = append(s.nonceOrder, n)
	return n
}

// claimNonce takes the form token n. first is true for the one request
// that should act; the others get the same *formNonce to wait on. A token
// the session never issued (or dropped) is nil.
func (s *session) claimNonce(n string) (fn *formNonce, first bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn = s.nonces[n]
	if fn == nil {
		return nil, false
	}
	if fn.claimed {
		return fn, false
	}
	fn.claimed = true
	return fn, true
}

// finishNonce records what the first request with n made. A request that
// failed leaves the form usable again (the printer may fix the number and
// send it once more); requests already waiting get its error.
func (s *session) finishNonce(n string, fn *formNonce, result int64, err error) {
	s.mu.Lock()
	fn.result, fn.err = result, err
	if err != nil && s.nonces[n] == fn {
		s.nonces[n] = &formNonce{done: make(chan struct{})}
	}
	s.mu.Unlock()
	close(fn.done)
}

// checkCSRF compares a form's token with the session's in constant time.
func (s *session) checkCSRF(got string) bool {
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(s.csrf)) == 1
}

func (s *session) setFlash(msg string) {
	s.mu.Lock()
	s.flash = msg
	s.mu.Unlock()
}

func (s *session) takeFlash() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	msg := s.flash
	s.flash = ""
	return msg
}

// sessions holds live sessions by the SHA-256 of their cookie value, so
// the map itself holds nothing a browser could present.
type sessions struct {
	idle, max time.Duration
	now       func() time.Time

	mu   sync.Mutex
	byID map[[sha256.Size]byte]*session
}

func newSessions(idle, max time.Duration, now func() time.Time) *sessions {
	return &sessions{idle: idle, max: max, now: now, byID: make(map[[sha256.Size]byte]*session)}
}

// create starts a session for p and returns its cookie value: 256 random
// bits.
func (ss *sessions) create(p store.Principal, token string) string {
	id := randomString()
	now := ss.now()
	s := &session{key: sha256.Sum256([]byte(id)), token: token, principal: p,
		csrf: randomString(), created: now, lastSeen: now}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.sweep(now)
	if len(ss.byID) >= maxSessions {
		var oldest *session
		for _, o := range ss.byID {
			if oldest == nil || o.seen().Before(oldest.seen()) {
				oldest = o
			}
		}
		delete(ss.byID, oldest.key)
	}
	ss.byID[s.key] = s
	return id
}

func (s *session) seen() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lastSeen
}

// get returns the live session of cookie value id and marks it used, or
// nil.
func (ss *sessions) get(id string) *session {
	key := sha256.Sum256([]byte(id))
	now := ss.now()
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s := ss.byID[key]
	if s == nil {
		return nil
	}
	if ss.expired(s, now) {
		delete(ss.byID, key)
		return nil
	}
	s.mu.Lock()
	s.lastSeen = now
	s.mu.Unlock()
	return s
}

func (ss *sessions) delete(s *session) {
	ss.mu.Lock()
	delete(ss.byID, s.key)
	ss.mu.Unlock()
}

func (ss *sessions) expired(s *session, now time.Time) bool {
	return now.Sub(s.created) >= ss.max || now.Sub(s.seen()) >= ss.idle
}

// sweep drops expired sessions; called with ss.mu held.
func (ss *sessions) sweep(now time.Time) {
	for k, s := range ss.byID {
		if ss.expired(s, now) {
			delete(ss.byID, k)
		}
	}
}

func randomString() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand panics rather)
	return base64.RawURLEncoding.EncodeToString(b)
}

// sessionOf returns the request's live session, or nil. The token it was
// opened with is checked again, so revoking a token ends its sessions at
// their next request.
func (c *console) sessionOf(r *http.Request) *session {
	ck, err := r.Cookie(sessionCookie)
	if err != nil || ck.Value == "" {
		return nil
	}
	s := c.sessions.get(ck.Value)
	if s == nil {
		return nil
	}
	if _, err := c.reg.Authenticate(r.Context(), s.token); err != nil {
		if schema.ErrorCode(err) == schema.EUNAUTHORIZED {
			c.sessions.delete(s)
		} else {
			c.logger.Error("console: check session token", "err", err)
		}
		return nil
	}
	return s
}

// cookie is a console cookie: HttpOnly, SameSite=Strict, scoped to the
// console, Secure over TLS. maxAge 0 makes a browser-session cookie, -1
// deletes it.
func (c *console) cookie(r *http.Request, name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: name, Value: value, Path: Prefix, MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil || c.opts.SecureCookie}
}

// addrLimiter is a token bucket per client address, for sign-in attempts.
type addrLimiter struct {
	rate  rate.Limit
	burst int
	now   func() time.Time

	mu      sync.Mutex
	buckets map[string]*addrBucket
}

type addrBucket struct {
	lim  *rate.Limiter
	seen time.Time
}

func newAddrLimiter(r rate.Limit, burst int, now func() time.Time) *addrLimiter {
	return &addrLimiter{rate: r, burst: burst, now: now, buckets: make(map[string]*addrBucket)}
}

// allow takes one attempt from addr's bucket.
func (l *addrLimiter) allow(addr string) bool {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.buckets) > 1000 {
		// A bucket idle this long has refilled: dropping it changes nothing.
		full := time.Duration(float64(l.burst) / float64(l.rate) * float64(time.Second))
		for k, b := range l.buckets {
			if now.Sub(b.seen) > full {
				delete(l.buckets, k)
			}
		}
	}
	b := l.buckets[addr]
	if b == nil {
		b = &addrBucket{lim: rate.NewLimiter(l.rate, l.burst)}
		l.buckets[addr] = b
	}
	b.seen = now
	return b.lim.AllowN(now, 1)
}
