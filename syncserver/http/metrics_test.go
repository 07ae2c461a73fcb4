package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/doorstep-health/doorstep/internal/testkit"
	"github.com/doorstep-health/doorstep/schema"
	httpapi "github.com/doorstep-health/doorstep/syncserver/http"
	"github.com/doorstep-health/doorstep/syncserver/store"
	"github.com/doorstep-health/doorstep/syncserver/store/storetest"
)

// newEnvWith is newEnv with options for the server.
func newEnvWith(tb testing.TB, opts ...httpapi.Option) *env {
	tb.Helper()
	st := storetest.Open(tb)
	logs := &testkit.Buffer{}
	srv := httpapi.New(st, slog.New(slog.NewTextHandler(logs, nil)), opts...)
	ts := httptest.NewServer(srv.Handler())
	tb.Cleanup(ts.Close)
	return &env{store: st, url: ts.URL, logs: logs}
}

// sample is one line of the Prometheus text format.
type sample struct {
	name   string
	labels map[string]string
	value  float64
}

// scrape reads /metrics with token and parses every sample. Our label
// values hold no commas or escaped quotes, which keeps the parser short.
func (e *env) scrape(t *testing.T, token string) []sample {
	t.Helper()
	res := e.do(t, http.MethodGet, "/metrics", token, body{})
	if res.status != http.StatusOK {
		t.Fatalf("metrics: %d %s", res.status, res.body)
	}
	if ct := res.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("metrics Content-Type %q, want the text format", ct)
	}
	var out []sample
	for line := range strings.Lines(string(res.body)) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		series, val, ok := strings.Cut(line, " ")
		if !ok {
			t.Fatalf("metrics line %q", line)
		}
		v, err := strconv.ParseFloat(val, 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		s := sample{name: series, labels: map[string]string{}, value: v}
		if name, rest, ok := strings.Cut(series, "{"); ok {
			s.name = name
			for pair := range strings.SplitSeq(strings.TrimSuffix(rest, "}"), ",") {
				k, v, _ := strings.Cut(pair, "=")
				s.labels[k] = strings.Trim(v, `"`)
			}
		}
		out = append(out, s)
	}
	return out
}

// value is the sample named name whose labels include labels, and
// whether there is one.
func value(samples []sample, name string, labels ...string) (float64, bool) {
next:
	for _, s := range samples {
		if s.name != name {
			continue
		}
		for i := 0; i+1 < len(labels); i += 2 {
			if s.labels[labels[i]] != labels[i+1] {
				continue next
			}
		}
		return s.value, true
	}
	return 0, false
}

// A request is counted under its route pattern and status, never its URL.
func TestMetricsCountRequestsByRoute(t *testing.T) {
	e := newEnvWith(t)
	admin := e.token(t, schema.RoleAdmin, "ops")
	for range 2 {
		if res := e.do(t, http.MethodGet, "/api/v1/review/tasks/424242", admin, body{}); res.status != http.StatusNotFound {
			t.Fatalf("review task: %d %s", res.status, res.body)
		}
	}
	if res := e.do(t, http.MethodGet, "/no/such/path-31337", "", body{}); res.status != http.StatusNotFound {
		t.Fatalf("no such path: %d %s", res.status, res.body)
	}
	if res := e.do(t, "BREW", "/healthz", "", body{}); res.status != http.StatusMethodNotAllowed {
		t.Fatalf("BREW: %d %s", res.status, res.body)
	}
	m := e.scrape(t, admin)

	tests := []struct {
		name   string
		labels []string
		want   float64
	}{
		{"syncserver_http_requests_total", []string{"method", "GET", "route", "/api/v1/review/tasks/:id", "code", "404"}, 2},
		{"syncserver_http_request_duration_seconds_count", []string{"method", "GET", "route", "/api/v1/review/tasks/:id", "code", "404"}, 2},
		{"syncserver_http_requests_total", []string{"method", "GET", "route", "unmatched", "code", "404"}, 1},
		{"syncserver_http_requests_total", []string{"method", "other", "route", "/healthz", "code", "405"}, 1},
	}
	for _, tt := range tests {
		if got, ok := value(m, tt.name, tt.labels...); !ok || got != tt.want {
			t.Errorf("%s%v = %v (present %v), want %v", tt.name, tt.labels, got, ok, tt.want)
		}
	}
	for _, s := range m {
		for _, v := range s.labels {
			if strings.Contains(v, "424242") || strings.Contains(v, "31337") || strings.Contains(v, "BREW") {
				t.Errorf("a label holds what the client sent: %s %v", s.name, s.labels)
			}
		}
	}
}

// The store's figures move as batches arrive, the matcher decides and a
// print centre confirms a job, and agree with what the matcher reported.
func TestMetricsFollowTheStore(t *testing.T) {
	e := newEnvWith(t)
	ctx := context.Background()
	admin := e.token(t, schema.RoleAdmin, "ops")
	lakshmi := func(id string) schema.Resident {
		r := born(id, "Lakshmi Verma", "F", "1990-06-30")
		r.Phone, r.FatherName = "+919899887766", "Ramesh Verma"
		return r
	}
	figures := func() map[string]float64 {
		t.Helper()
		m := e.scrape(t, admin)
		out := map[string]float64{}
		for _, k := range []struct{ key, name, label, value string }{
			{"batches", "syncserver_batches_total", "", ""},
			{"accepted", "syncserver_records_total", "result", "accepted"},
			{"linked", "syncserver_match_decisions_total", "outcome", "linked"},
			{"new", "syncserver_match_decisions_total", "outcome", "new"},
			{"review", "syncserver_match_decisions_total", "outcome", "review"},
			{"printed", "syncserver_cards_printed_total", "", ""},
			{"cards printed now", "syncserver_cards", "status", store.CardPrinted},
			{"persons", "syncserver_persons", "", ""},
		} {
			var labels []string
			if k.label != "" {
				labels = []string{k.label, k.value}
			}
			v, ok := value(m, k.name, labels...)
			if !ok {
				t.Fatalf("no %s %v in /metrics", k.name, labels)
			}
			out[k.key] = v
		}
		return out
	}
	check := func(step string, want map[string]float64) {
		t.Helper()
		got := figures()
		for k, w := range want {
			if got[k] != w {
				t.Errorf("%s: %s = %v, want %v", step, k, got[k], w)
			}
		}
	}

	check("empty store", map[string]float64{"batches": 0, "accepted": 0, "linked": 0, "new": 0, "review": 0, "printed": 0})

	var rep store.MatchReport
	pushes := []struct {
		team string
		recs []schema.Record
	}{
		{"team-1", enrolled("hh-1", "H.No. 9, Gali 4", "Trilokpuri", "110091",
			lakshmi("lakshmi-1"), born("imran-1", "Imran Qureshi", "M", "1979-11-02"))},
		// The same woman, as the same team wrote her, enrolled again by
		// another: the matcher links her to her person.
		{"team-2", enrolled("hh-2", "H.No. 9, Gali 4", "Trilokpuri", "110091", lakshmi("lakshmi-2"))},
	}
	records := 0
	for i, p := range pushes {
		dev, tok := e.device(t, p.team)
		if res := e.do(t, http.MethodPost, "/api/v1/sync/batches", tok, gzipped(batch(dev, p.recs...))); res.status != http.StatusOK {
			t.Fatalf("push: %d %s", res.status, res.body)
		}
		records += len(p.recs)
		r, err := e.store.MatchAll(ctx)
		if err != nil {
			t.Fatal(err)
		}
		rep.New, rep.Linked, rep.Review = rep.New+r.New, rep.Linked+r.Linked, rep.Review+r.Review
		check(fmt.Sprintf("after batch %d", i+1), map[string]float64{
			"batches":  float64(i + 1),
			"accepted": float64(records),
			"linked":   float64(rep.Linked),
			"new":      float64(rep.New + rep.Review), // a review decision starts a person too
			"review":   float64(rep.Review),
		})
	}
	if rep.Linked != 1 || rep.New != 2 {
		t.Fatalf("the matcher decided %+v; the test wants two new persons and one link", rep)
	}

	printer := e.token(t, schema.RolePrinter, "centre-dl-ne")
	res := e.do(t, http.MethodPost, "/api/v1/print-jobs", printer, plain(map[string]any{"centre": "DL-NE"}))
	if res.status != http.StatusCreated {
		t.Fatalf("print job: %d %s", res.status, res.body)
	}
	var job store.PrintJob
	res.decode(t, &job)
	check("job open, nothing printed", map[string]float64{"printed": 0})
	if res := e.do(t, http.MethodPost, fmt.Sprintf("/api/v1/print-jobs/%d/confirm", job.ID), printer, body{}); res.status != http.StatusOK {
		t.Fatalf("confirm: %d %s", res.status, res.body)
	}
	n := float64(len(job.Serials))
	check("job confirmed", map[string]float64{"printed": n, "cards printed now": n, "persons": 2})
	if n != 2 {
		t.Errorf("the job printed %v cards, want one for each of the 2 persons", n)
	}
}

// /metrics wants a token that may read /api/v1/stats, unless opened for a
// scraper on a private network; /healthz and /readyz never want one.
func TestMetricsAndProbesAccess(t *testing.T) {
	closed := newEnvWith(t, httpapi.WithOpenMetrics(false))
	open := newEnvWith(t, httpapi.WithOpenMetrics(true))
	tokens := func(e *env) map[string]string {
		_, dev := e.device(t, "lap")
		return map[string]string{
			"none":                "",
			schema.RoleAdmin:      e.token(t, schema.RoleAdmin, "ops"),
			schema.RoleSupervisor: e.token(t, schema.RoleSupervisor, "sup"),
			schema.RoleDevice:     dev,
			"unknown token":       "dst_not-a-token",
		}
	}
	tests := []struct {
		env  *env
		path string
		want map[string]int
	}{
		{closed, "/metrics", map[string]int{"none": 401, schema.RoleAdmin: 200, schema.RoleSupervisor: 200, schema.RoleDevice: 403, "unknown token": 401}},
		{open, "/metrics", map[string]int{"none": 200, schema.RoleAdmin: 200, schema.RoleDevice: 200, "unknown token": 200}},
		{closed, "/readyz", map[string]int{"none": 200, schema.RoleDevice: 200}},
		{closed, "/healthz", map[string]int{"none": 200}},
	}
	toks := map[*env]map[string]string{closed: tokens(closed), open: tokens(open)}
	for _, tt := range tests {
		for who, want := range tt.want {
			res := tt.env.do(t, http.MethodGet, tt.path, toks[tt.env][who], body{})
			if res.status != want {
				t.Errorf("GET %s (open %v) as %s: %d %s, want %d", tt.path, tt.env == open, who, res.status, res.body, want)
			}
		}
	}
}

// /readyz answers 200 while the store works and 503, with a problem body
// that says nothing about why, once it does not; /healthz stays 200.
func TestReadyz(t *testing.T) {
	e := newEnvWith(t)
	res := e.do(t, http.MethodGet, "/readyz", "", body{})
	if res.status != http.StatusOK || !strings.Contains(string(res.body), `"ready"`) {
		t.Fatalf("readyz on a good store: %d %s", res.status, res.body)
	}
	if err := e.store.Close(); err != nil {
		t.Fatal(err)
	}
	res = e.do(t, http.MethodGet, "/readyz", "", body{})
	var p schema.Problem
	if err := json.Unmarshal(res.body, &p); err != nil {
		t.Fatalf("readyz body %s: %v", res.body, err)
	}
	if res.status != http.StatusServiceUnavailable || p.Code != schema.EUNAVAILABLE ||
		res.header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("readyz on a closed store: %d %s %s, want 503 %s problem", res.status, res.header.Get("Content-Type"), res.body, schema.EUNAVAILABLE)
	}
	if strings.Contains(string(res.body), "closed") || strings.Contains(string(res.body), "sql") {
		t.Errorf("readyz tells the world why: %s", res.body)
	}
	if !strings.Contains(e.logs.String(), "closed") {
		t.Errorf("the log does not say why the store is not ready:\n%s", e.logs.String())
	}
	if res := e.do(t, http.MethodGet, "/healthz", "", body{}); res.status != http.StatusOK {
		t.Errorf("healthz on a closed store: %d %s, want 200: the process is alive", res.status, res.body)
	}
}
