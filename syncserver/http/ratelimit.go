package httpapi

import (
	"math"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
	"golang.org/x/time/rate"
)

// Defaults for `syncserver serve`: a laptop syncing sends a batch at a
// time and waits for each answer, and a hospital desk looks people up as
// fast as a clerk types, so neither comes near 50 a second even in a burst
// of retries after a network blip. What the limit stops is a runaway
// script, or a leaked token used to page through the registry.
const (
	DefaultRateLimit = 50
	DefaultRateBurst = 100
)

// WithRateLimit limits each token to rps requests a second with bursts of
// up to burst, and each client address the same way on the endpoints that
// take no token. rps 0 (the default of New) turns limiting off; a burst
// below 1 is taken as 1.
func WithRateLimit(rps float64, burst int) Option {
	return func(s *Server) {
		s.tokens, s.clients = newLimiter(rps, burst), newLimiter(rps, burst)
	}
}

// limiter is a token bucket per key (a token ID, a client address).
// A nil *limiter allows everything.
type limiter struct {
	rate  rate.Limit
	burst int
	// idle is how long a key goes unused before its bucket is dropped. A
	// bucket left alone that long has refilled to burst, so dropping it
	// and starting a full one on the next request changes nothing: memory
	// follows the keys in use, not every token ever seen.
	idle time.Duration

	mu        sync.Mutex
	buckets   map[string]*bucket
	lastSweep time.Time
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

func newLimiter(rps float64, burst int) *limiter {
	if rps <= 0 || math.IsNaN(rps) {
		return nil
	}
	burst = max(burst, 1)
	refill := time.Duration(float64(burst) / rps * float64(time.Second))
	return &limiter{
		rate:    rate.Limit(rps),
		burst:   burst,
		idle:    max(refill, time.Minute), // sweep at most once a minute
		buckets: make(map[string]*bucket),
	}
}

// wait takes one request from key's bucket at now. It returns 0 when the
// request may go ahead, and otherwise how long until it could, taking
// nothing: a refused request does not push the next allowed one back.
func (l *limiter) wait(key string, now time.Time) time.Duration {
	if l == nil {
		return 0
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sweep(now)
	b := l.buckets[key]
	if b == nil {
		b = &bucket{lim: rate.NewLimiter(l.rate, l.burst)}
		l.buckets[key] = b
	}
	b.seen = now
	r := b.lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return d
	}
	return 0
}

// sweep drops buckets idle for l.idle, checking at most once per l.idle.
func (l *limiter) sweep(now time.Time) {
	if now.Sub(l.lastSweep) < l.idle {
		return
	}
	l.lastSweep = now
	for k, b := range l.buckets {
		if now.Sub(b.seen) >= l.idle {
			delete(l.buckets, k)
		}
	}
}

// limit answers 429 when key has used its bucket up, with Retry-After in
// whole seconds, rounded up so a client that waits that long gets in.
func (s *Server) limit(c echo.Context, l *limiter, by, key string) error {
	d := l.wait(key, time.Now())
	if d == 0 {
		return nil
	}
	s.metrics.limited.WithLabelValues(by).Inc()
	secs := max(int64(math.Ceil(d.Seconds())), 1)
	c.Response().Header().Set("Retry-After", strconv.FormatInt(secs, 10))
	return echo.NewHTTPError(http.StatusTooManyRequests,
		"too many requests for this "+by+"; retry after "+strconv.FormatInt(secs, 10)+"s")
}

// limitToken spends one request of the authenticated token's budget. It is
// keyed by the token's ID, never the secret, which need not stay in memory.
func (s *Server) limitToken(c echo.Context, tokenID string) error {
	return s.limit(c, s.tokens, "token", tokenID)
}

// limitClient spends one request of the client address's budget: for
// endpoints without a token, and for failed authentications, so guessing
// tokens or registration codes is as slow as the limit.
func (s *Server) limitClient(c echo.Context) error {
	return s.limit(c, s.clients, "address", clientKey(c.RealIP()))
}

// limitClients is limitClient as route middleware.
func (s *Server) limitClients(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if err := s.limitClient(c); err != nil {
			return err
		}
		return next(c)
	}
}

// limitAnonymousInput applies limitClient to the endpoints that take input
// without a token. They are few and listed here; a new one belongs here
// too. Endpoints with a token are limited by requireRole instead.
func (s *Server) limitAnonymousInput(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		switch c.Request().Method + " " + c.Path() {
		case http.MethodPost + " /api/v1/devices/register":
			if err := s.limitClient(c); err != nil {
				return err
			}
		}
		return next(c)
	}
}

// clientKey is the budget key of a client address: echo's RealIP, which
// New sets to the TCP peer, not X-Forwarded-For that any client can
// write (behind a reverse proxy, every client shares the proxy's budget);
// IPv6 addresses by their /64, which one host can hold in full.
func clientKey(addr string) string {
	ip := net.ParseIP(addr)
	switch {
	case ip == nil:
		return addr
	case ip.To4() != nil:
		return ip.To4().String()
	}
	return ip.Mask(net.CIDRMask(64, 128)).String()
}
