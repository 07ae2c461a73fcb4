package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/doorstep-health/doorstep/schema"
	"github.com/doorstep-health/doorstep/syncserver/store"
	"github.com/doorstep-health/doorstep/syncserver/store/storetest"
)

// The bucket arithmetic, on a clock the test holds.
func TestLimiter(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 11, 0, 0, 0, time.UTC)
	l := newLimiter(2, 3) // 2 a second, bursts of 3
	steps := []struct {
		key  string
		at   time.Duration
		want time.Duration
	}{
		{"a", 0, 0}, {"a", 0, 0}, {"a", 0, 0}, // the burst
		{"a", 0, 500 * time.Millisecond}, // refused: a token in 1/2s
		{"a", 0, 500 * time.Millisecond}, // a refusal costs nothing
		{"b", 0, 0},                      // another key has its own bucket
		{"a", 500 * time.Millisecond, 0}, // refilled by one
		{"a", 500 * time.Millisecond, 500 * time.Millisecond},
		{"a", 10 * time.Second, 0}, {"a", 10 * time.Second, 0}, {"a", 10 * time.Second, 0}, // full again, never above burst
		{"a", 10 * time.Second, 500 * time.Millisecond},
	}
	for i, s := range steps {
		if got := l.wait(s.key, t0.Add(s.at)); got != s.want {
			t.Errorf("step %d: %s at +%v waits %v, want %v", i, s.key, s.at, got, s.want)
		}
	}

	// Idle buckets go: memory follows the keys in use.
	if n := len(l.buckets); n != 2 {
		t.Fatalf("%d buckets, want a and b", n)
	}
	l.wait("c", t0.Add(l.idle)) // b last seen at t0, a at t0+10s
	if _, ok := l.buckets["b"]; ok || len(l.buckets) != 2 {
		t.Errorf("after b idled %v: buckets %v, want a and c", l.idle, keys(l.buckets))
	}

	if l := newLimiter(0, 100); l != nil || l.wait("a", t0) != 0 {
		t.Error("rate 0 limits")
	}
	if l := newLimiter(1, 0); l.wait("a", t0) != 0 || l.wait("a", t0) != time.Second {
		t.Error("burst 0 is not taken as 1")
	}
}

func keys(m map[string]*bucket) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestClientKey(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.7":                 "192.0.2.7",
		"::ffff:192.0.2.7":          "192.0.2.7",
		"2001:db8:1:2:aaaa::1":      "2001:db8:1:2::",
		"2001:db8:1:2:bbbb:cccc::9": "2001:db8:1:2::",
		"2001:db8:1:3::1":           "2001:db8:1:3::",
		"not an address":            "not an address",
	} {
		if got := clientKey(in); got != want {
			t.Errorf("clientKey(%q) = %q, want %q", in, got, want)
		}
	}
}

// testServer is a real server on 127.0.0.1 over a store in a temp dir.
type testServer struct {
	store *store.Store
	url   string
}

func newTestServer(t *testing.T, opts ...Option) *testServer {
	t.Helper()
	st := storetest.Open(t)
	ts := httptest.NewServer(New(st, nil, opts...).Handler())
	t.Cleanup(ts.Close)
	return &testServer{store: st, url: ts.URL}
}

func (s *testServer) token(t *testing.T, role string) string {
	t.Helper()
	tok, err := s.store.CreateToken(context.Background(), role, role+"-"+schema.NewID())
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func (s *testServer) deviceToken(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	_, code, err := s.store.AddDevice(ctx, "lap-"+schema.NewID(), "DL-NW-W05")
	if err != nil {
		t.Fatal(err)
	}
	reg, err := s.store.RegisterDevice(ctx, code, "lap")
	if err != nil {
		t.Fatal(err)
	}
	return reg.Token
}

type answer struct {
	status  int
	header  http.Header
	problem schema.Problem
	body    string
}

// call sends body; a length of -1 sends it chunked, with no Content-Length.
func (s *testServer) call(t *testing.T, method, path, token string, body []byte, length int64) answer {
	t.Helper()
	var r io.Reader = bytes.NewReader(body)
	if length < 0 {
		r = io.MultiReader(r) // hides the length from http.NewRequest
	}
	req, err := http.NewRequest(method, s.url+path, r)
	if err != nil {
		t.Fatal(err)
	}
	if length >= 0 && body != nil {
		req.ContentLength = length
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	a := answer{status: res.StatusCode, header: res.Header, body: string(data)}
	if res.Header.Get("Content-Type") == problemContentType {
		if err := json.Unmarshal(data, &a.problem); err != nil {
			t.Fatalf("problem body %s: %v", data, err)
		}
	}
	return a
}

// untilLimited repeats a request until it is refused with 429, which a
// burst of 2 at 1 a second gives on the third request unless the machine
// is slow enough for a second to pass; 20 tries cover that.
func untilLimited(t *testing.T, do func() answer, ok int) answer {
	t.Helper()
	for i := range 20 {
		a := do()
		if a.status == http.StatusTooManyRequests {
			if i < 2 {
				t.Errorf("refused on request %d, inside the burst of 2", i+1)
			}
			return a
		}
		if a.status != ok {
			t.Fatalf("request %d: %d %s, want %d until limited", i+1, a.status, a.body, ok)
		}
	}
	t.Fatal("20 requests at once were never limited")
	return answer{}
}

// checkLimited asserts the 429 is a problem with our code and a
// Retry-After of whole seconds, and returns that wait.
func checkLimited(t *testing.T, a answer) time.Duration {
	t.Helper()
	secs, err := strconv.Atoi(a.header.Get("Retry-After"))
	if err != nil || secs < 1 {
		t.Errorf("Retry-After %q, want whole seconds, at least 1", a.header.Get("Retry-After"))
		secs = 1
	}
	if a.problem.Code != schema.ERATELIMITED || a.problem.Status != http.StatusTooManyRequests {
		t.Errorf("429 body %s, want a problem with code %s", a.body, schema.ERATELIMITED)
	}
	return time.Duration(secs) * time.Second
}

// Each token has its own budget; over it, 429 says when to come back, and
// coming back then works.
func TestRateLimitPerToken(t *testing.T) {
	s := newTestServer(t, WithRateLimit(1, 2))
	a, b := s.token(t, schema.RoleAdmin), s.token(t, schema.RoleAdmin)
	stats := func(tok string) answer { return s.call(t, http.MethodGet, "/api/v1/stats", tok, nil, 0) }

	wait := checkLimited(t, untilLimited(t, func() answer { return stats(a) }, http.StatusOK))
	if got := stats(b); got.status != http.StatusOK {
		t.Errorf("another token after the first was limited: %d %s", got.status, got.body)
	}
	// Waiting what Retry-After said is enough whatever the machine's
	// speed: the wait counts from the refusal, and time only goes on.
	time.Sleep(wait)
	if got := stats(a); got.status != http.StatusOK {
		t.Errorf("after waiting Retry-After: %d %s", got.status, got.body)
	}

	// A forbidden endpoint spends the budget too.
	dev := s.deviceToken(t)
	checkLimited(t, untilLimited(t, func() answer { return stats(dev) }, http.StatusForbidden))
}

// Without a token, the client address has the budget: registration,
// /readyz (it takes the write lock), and failed authentication, where a
// good token from the same address is not held back.
func TestRateLimitPerAddress(t *testing.T) {
	reg, err := json.Marshal(schema.Registration{Code: "AAAA-BBBB-CCCC", Hostname: "lap"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		token string
		do    func(s *testServer, token string) answer
		ok    int // the answer before the limit
	}{
		{"registration with a wrong code", "", func(s *testServer, _ string) answer {
			return s.call(t, http.MethodPost, "/api/v1/devices/register", "", reg, int64(len(reg)))
		}, http.StatusUnauthorized},
		{"no token", "", func(s *testServer, _ string) answer {
			return s.call(t, http.MethodGet, "/api/v1/stats", "", nil, 0)
		}, http.StatusUnauthorized},
		{"unknown token", "dst_guessed", func(s *testServer, tok string) answer {
			return s.call(t, http.MethodGet, "/api/v1/stats", tok, nil, 0)
		}, http.StatusUnauthorized},
		{"readiness probes", "", func(s *testServer, _ string) answer {
			return s.call(t, http.MethodGet, "/readyz", "", nil, 0)
		}, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newTestServer(t, WithRateLimit(1, 2))
			good := s.token(t, schema.RoleAdmin)
			checkLimited(t, untilLimited(t, func() answer { return tt.do(s, tt.token) }, tt.ok))
			if got := s.call(t, http.MethodGet, "/api/v1/stats", good, nil, 0); got.status != http.StatusOK {
				t.Errorf("a good token from the limited address: %d %s", got.status, got.body)
			}
		})
	}
}

// WithRateLimit(0, …), New's default, limits nothing.
func TestRateLimitOff(t *testing.T) {
	for _, opts := range [][]Option{nil, {WithRateLimit(0, 0)}} {
		s := newTestServer(t, opts...)
		tok := s.token(t, schema.RoleAdmin)
		for i := range 30 {
			if got := s.call(t, http.MethodGet, "/api/v1/stats", tok, nil, 0); got.status != http.StatusOK {
				t.Fatalf("request %d without a limit: %d %s", i+1, got.status, got.body)
			}
		}
	}
}

// Every body has a cap and an over-cap body is 413 too_large, whether the
// endpoint decodes it or not, with or without a Content-Length; batches
// have their own, larger cap.
func TestBodyLimits(t *testing.T) {
	s := newTestServer(t)
	sup, dev := s.token(t, schema.RoleSupervisor), s.deviceToken(t)
	junk := func(n int) []byte { return bytes.Repeat([]byte("x"), n) }
	tests := []struct {
		name         string
		path, token  string
		body         []byte
		chunked      bool
		want         int
		wantCode     string
		wantInAnswer string
	}{
		{name: "decision over the general cap", path: "/api/v1/review/tasks/1/decision", token: sup,
			body: junk(maxBodyBytes + 1), want: 413, wantCode: schema.ETOOLARGE},
		{name: "decision over the general cap, chunked", path: "/api/v1/review/tasks/1/decision", token: sup,
			body: junk(maxBodyBytes + 1), chunked: true, want: 413, wantCode: schema.ETOOLARGE},
		{name: "unmerge, which reads no body", path: "/api/v1/persons/p-1/unmerge", token: sup,
			body: junk(maxBodyBytes + 1), want: 413, wantCode: schema.ETOOLARGE},
		{name: "unmerge without a token", path: "/api/v1/persons/p-1/unmerge",
			body: junk(maxBodyBytes + 1), want: 413, wantCode: schema.ETOOLARGE},
		{name: "registration over its own cap", path: "/api/v1/devices/register",
			body: junk(maxRegistrationBytes + 1), want: 413, wantCode: schema.ETOOLARGE},
		{name: "print job over the general cap", path: "/api/v1/print-jobs", token: s.token(t, schema.RolePrinter),
			body: junk(maxBodyBytes + 1), chunked: true, want: 413, wantCode: schema.ETOOLARGE},
		{name: "batch over the general cap but within its own", path: "/api/v1/sync/batches", token: dev,
			body: junk(maxBodyBytes + 1), want: 400, wantCode: schema.EMALFORMED},
		{name: "batch over its own cap", path: "/api/v1/sync/batches", token: dev,
			body: junk(schema.MaxGzipBytes + 1), want: 413, wantCode: schema.ETOOLARGE},
		{name: "batch over its own cap, chunked", path: "/api/v1/sync/batches", token: dev,
			body: junk(schema.MaxGzipBytes + 1), chunked: true, want: 413, wantCode: schema.ETOOLARGE},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			length := int64(len(tt.body))
			if tt.chunked {
				length = -1
			}
			a := s.call(t, http.MethodPost, tt.path, tt.token, tt.body, length)
			if a.status != tt.want || a.problem.Code != tt.wantCode {
				t.Errorf("%d %.200s, want %d %s", a.status, a.body, tt.want, tt.wantCode)
			}
			if tt.want == 413 && !strings.Contains(a.problem.Message, "bytes") {
				t.Errorf("413 message %q does not say the cap", a.problem.Message)
			}
		})
	}
}
