package httpapi_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/doorstep-health/doorstep/internal/testkit"
	"github.com/doorstep-health/doorstep/schema"
	httpapi "github.com/doorstep-health/doorstep/syncserver/http"
	"github.com/doorstep-health/doorstep/syncserver/store"
	"github.com/doorstep-health/doorstep/syncserver/store/storetest"
)

// env is a store with a real HTTP server in front of it.
type env struct {
	store *store.Store
	url   string
	logs  *testkit.Buffer
}

func newEnv(tb testing.TB, opts ...store.Option) *env {
	tb.Helper()
	st := storetest.Open(tb, opts...)
	logs := &testkit.Buffer{}
	srv := httpapi.New(st, slog.New(slog.NewTextHandler(logs, nil)))
	ts := httptest.NewServer(srv.Handler())
	tb.Cleanup(ts.Close)
	return &env{store: st, url: ts.URL, logs: logs}
}

// device registers a laptop over HTTP and returns its id and token.
func (e *env) device(tb testing.TB, name string) (string, string) {
	tb.Helper()
	_, code, err := e.store.AddDevice(context.Background(), name, "DL-NW-W05")
	if err != nil {
		tb.Fatal(err)
	}
	res := e.do(tb, http.MethodPost, "/api/v1/devices/register", "", plain(schema.Registration{Code: code, Hostname: "lap"}))
	if res.status != http.StatusCreated {
		tb.Fatalf("register: %d %s", res.status, res.body)
	}
	var reg schema.Registered
	res.decode(tb, &reg)
	return reg.DeviceID, reg.Token
}

func (e *env) token(tb testing.TB, role, name string) string {
	tb.Helper()
	tok, err := e.store.CreateToken(context.Background(), role, name)
	if err != nil {
		tb.Fatal(err)
	}
	return tok
}

// body is a request body and its Content-Encoding.
type body struct {
	data     []byte
	encoding string
}

func plain(v any) body {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // test data only
	}
	return body{data: b}
}

func gzipped(v any) body {
	b := plain(v).data
	return gzipBytes(b)
}

func gzipBytes(b []byte) body {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(b)
	zw.Close()
	return body{data: buf.Bytes(), encoding: "gzip"}
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) decode(tb testing.TB, v any) {
	tb.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		tb.Fatalf("decode %s: %v", r.body, err)
	}
}

func (e *env) do(tb testing.TB, method, path, token string, b body) response {
	tb.Helper()
	req, err := http.NewRequest(method, e.url+path, bytes.NewReader(b.data))
	if err != nil {
		tb.Fatal(err)
	}
	if b.data != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if b.encoding != "" {
		req.Header.Set("Content-Encoding", b.encoding)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer res.Body.Close()
	data, err := io.ReadAll(res.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: data}
}

func household(id string) schema.Record {
	h := schema.Household{
		ID: id, Area: "DL-NW-W05",
		Address:   schema.Address{Line1: "H.No. 12, Gali 3", Locality: "Rohini", City: "Delhi", Pincode: "110085"},
		VisitedAt: "2025-11-27T10:30:00+05:30", Outcome: schema.OutcomeEnrolled,
		Consent: schema.Consent{Given: true, At: "2025-11-27T10:30:00+05:30"},
	}
	return schema.Record{Kind: schema.KindHousehold, ID: id, Version: 1, Data: plain(h).data}
}

func resident(id, householdID, sex string) schema.Record {
	r := schema.Resident{ID: id, HouseholdID: householdID, Name: "Sunita Devi", Sex: sex, DOB: "1985",
		DOBPrecision: schema.PrecisionYear, Relation: "head", Phone: "+919812345678"}
	return schema.Record{Kind: schema.KindResident, ID: id, Version: 1, Data: plain(r).data}
}

func batch(deviceID string, recs ...schema.Record) schema.Batch {
	return schema.Batch{BatchID: schema.NewID(), DeviceID: deviceID, SchemaVersion: schema.SchemaVersion, Records: recs}
}

func TestPushBatch(t *testing.T) {
	e := newEnv(t)
	dev, tok := e.device(t, "team-1")
	h := schema.NewID()
	b := batch(dev, household(h), resident(schema.NewID(), h, "F"), resident(schema.NewID(), h, "Q"))

	for i, want := range [][]string{
		{schema.StatusAccepted, schema.StatusAccepted, schema.StatusRejected},
		{schema.StatusDuplicate, schema.StatusDuplicate, schema.StatusRejected},
	} {
		res := e.do(t, http.MethodPost, "/api/v1/sync/batches", tok, gzipped(b))
		if res.status != http.StatusOK {
			t.Fatalf("push %d: %d %s", i, res.status, res.body)
		}
		var out schema.BatchResult
		res.decode(t, &out)
		if out.BatchID != b.BatchID || len(out.Results) != 3 {
			t.Fatalf("push %d: %s", i, res.body)
		}
		for j, r := range out.Results {
			if r.Status != want[j] || r.ID != b.Records[j].ID {
				t.Errorf("push %d record %d: %+v, want %s", i, j, r, want[j])
			}
		}
		if rej := out.Results[2]; rej.Code != schema.EINVALID || rej.Field != "sex" || rej.Message == "" {
			t.Errorf("push %d: rejected record %+v", i, rej)
		}
	}

	// Plain JSON works too.
	res := e.do(t, http.MethodPost, "/api/v1/sync/batches", tok, plain(batch(dev, resident(schema.NewID(), h, "M"))))
	if res.status != http.StatusOK {
		t.Errorf("plain push: %d %s", res.status, res.body)
	}

	stats := e.do(t, http.MethodGet, "/api/v1/stats", e.token(t, schema.RoleSupervisor, "sup"), body{})
	if stats.status != http.StatusOK {
		t.Fatalf("stats: %d %s", stats.status, stats.body)
	}
	var got map[string]any
	stats.decode(t, &got)
	for _, k := range []string{"households", "residents", "persons", "review_open", "cards"} {
		if _, ok := got[k]; !ok {
			t.Errorf("stats without %q: %s", k, stats.body)
		}
	}
	if got["households"] != 1.0 || got["residents"] != 2.0 {
		t.Errorf("stats %s", stats.body)
	}

	ch := e.do(t, http.MethodGet, "/api/v1/sync/changes?after=0&limit=10", tok, body{})
	var changes schema.Changes
	ch.decode(t, &changes)
	if ch.status != http.StatusOK || len(changes.Changes) != 0 || changes.Cursor != 0 || changes.More || len(changes.Keys) == 0 {
		t.Errorf("changes: %d %s, want no changes and the published signing keys", ch.status, ch.body)
	}

	// The log names the token but never shows it.
	logs := e.logs.String()
	if !strings.Contains(logs, "token=device:team-1") || !strings.Contains(logs, "path=/api/v1/sync/batches") {
		t.Errorf("log lacks the request line:\n%s", logs)
	}
	if strings.Contains(logs, tok) || strings.Contains(logs, strings.TrimPrefix(tok, "dst_")) {
		t.Error("log shows a token")
	}
}

func TestBadRequests(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	dev, tok := e.device(t, "team-1")
	other, _ := e.device(t, "team-2")
	gone, goneTok := e.device(t, "team-gone")
	if err := e.store.RevokeDevice(ctx, gone); err != nil {
		t.Fatal(err)
	}
	admin := e.token(t, schema.RoleAdmin, "admin")
	revoked := e.token(t, schema.RoleSupervisor, "old-supervisor")
	if err := e.store.RevokeToken(ctx, "old-supervisor"); err != nil {
		t.Fatal(err)
	}
	_, unusedCode, err := e.store.AddDevice(ctx, "team-3", "")
	if err != nil {
		t.Fatal(err)
	}
	h := schema.NewID()
	good := batch(dev, household(h), resident(schema.NewID(), h, "F"))
	with := func(edit func(*schema.Batch)) schema.Batch {
		b := good
		b.BatchID = schema.NewID()
		b.Records = append([]schema.Record(nil), good.Records...)
		edit(&b)
		return b
	}
	incompressible := make([]byte, schema.MaxGzipBytes+1)
	rand.Read(incompressible)
	bomb := append(append([]byte(`{"batch_id":"`), bytes.Repeat([]byte("a"), schema.MaxBatchBytes)...), `"}`...)

	const push, changes, stats, register = "/api/v1/sync/batches", "/api/v1/sync/changes", "/api/v1/stats", "/api/v1/devices/register"
	tests := []struct {
		name, method, path, token string
		body                      body
		status                    int
		code, field               string
	}{
		{"no token", "POST", push, "", gzipped(good), 401, schema.EUNAUTHORIZED, ""},
		{"unknown token", "POST", push, "dst_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", gzipped(good), 401, schema.EUNAUTHORIZED, ""},
		{"revoked token", "GET", stats, revoked, body{}, 401, schema.EUNAUTHORIZED, ""},
		{"revoked device", "POST", push, goneTok, gzipped(batch(gone, household(schema.NewID()))), 401, schema.EUNAUTHORIZED, ""},
		{"wrong role for push", "POST", push, admin, gzipped(good), 403, schema.EFORBIDDEN, ""},
		{"wrong role for stats", "GET", stats, tok, body{}, 403, schema.EFORBIDDEN, ""},
		{"batch claiming another device", "POST", push, tok, gzipped(batch(other, household(schema.NewID()))), 403, schema.EFORBIDDEN, "device_id"},
		{"batch of an unknown device", "POST", push, tok, gzipped(batch("NO-SUCH-DEVICE", household(schema.NewID()))), 403, schema.EFORBIDDEN, "device_id"},
		{"malformed JSON", "POST", push, tok, body{data: []byte(`{"batch_id": `)}, 400, schema.EMALFORMED, ""},
		{"JSON of the wrong shape", "POST", push, tok, body{data: []byte(`{"records": "many"}`)}, 400, schema.EMALFORMED, "records"},
		{"bad gzip", "POST", push, tok, body{data: []byte("this is not gzip"), encoding: "gzip"}, 400, schema.EMALFORMED, ""},
		{"truncated gzip", "POST", push, tok, body{data: gzipped(good).data[:40], encoding: "gzip"}, 400, schema.EMALFORMED, ""},
		{"unsupported encoding", "POST", push, tok, body{data: []byte("{}"), encoding: "br"}, 400, schema.EMALFORMED, ""},
		{"compressed body over limit", "POST", push, tok, body{data: incompressible, encoding: "gzip"}, 413, schema.ETOOLARGE, ""},
		{"decompressed body over limit", "POST", push, tok, gzipBytes(bomb), 413, schema.ETOOLARGE, ""},
		{"plain body over limit", "POST", push, tok, body{data: bomb}, 413, schema.ETOOLARGE, ""},
		{"too many records", "POST", push, tok, gzipped(with(func(b *schema.Batch) {
			for len(b.Records) <= schema.MaxRecordsPerBatch {
				b.Records = append(b.Records, b.Records[1])
			}
		})), 413, schema.ETOOLARGE, "records"},
		{"missing batch id", "POST", push, tok, gzipped(with(func(b *schema.Batch) { b.BatchID = "" })), 422, schema.EINVALID, "batch_id"},
		{"newer schema version", "POST", push, tok, gzipped(with(func(b *schema.Batch) { b.SchemaVersion++ })), 422, schema.EINVALID, "schema_version"},
		{"unknown kind", "POST", push, tok, gzipped(with(func(b *schema.Batch) { b.Records[0].Kind = "person" })), 422, schema.EINVALID, "records[0].kind"},
		{"bad cursor", "GET", changes + "?after=-3", tok, body{}, 422, schema.EINVALID, "after"},
		{"unknown code", "POST", register, "", plain(schema.Registration{Code: "0000-0000-0000"}), 401, schema.EUNAUTHORIZED, ""},
		{"empty code", "POST", register, "", plain(schema.Registration{}), 422, schema.EINVALID, "code"},
		{"registration not JSON", "POST", register, "", body{data: []byte(unusedCode)}, 400, schema.EMALFORMED, ""},
		{"unknown route", "GET", "/api/v1/nothing", "", body{}, 404, schema.ENOTFOUND, ""},
		{"wrong method", "GET", push, tok, body{}, 405, schema.EINVALID, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := e.do(t, tt.method, tt.path, tt.token, tt.body)
			if res.status != tt.status {
				t.Errorf("status %d, want %d: %s", res.status, tt.status, res.body)
			}
			if ct := res.header.Get("Content-Type"); ct != "application/problem+json" {
				t.Errorf("Content-Type %q", ct)
			}
			var p schema.Problem
			res.decode(t, &p)
			if p.Status != tt.status || p.Code != tt.code || p.Field != tt.field || p.Message == "" || p.Title == "" {
				t.Errorf("problem %+v, want status %d code %q field %q", p, tt.status, tt.code, tt.field)
			}
		})
	}

	// None of it stored anything: only the device registrations exist.
	st, err := e.store.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Households != 0 || st.Residents != 0 || st.Batches != 0 {
		t.Errorf("bad requests stored something: %+v", st)
	}
}

func TestRegistrationCodeWorksOnce(t *testing.T) {
	e := newEnv(t)
	_, code, err := e.store.AddDevice(context.Background(), "team-1", "DL-NW-W05")
	if err != nil {
		t.Fatal(err)
	}
	first := e.do(t, "POST", "/api/v1/devices/register", "", gzipped(schema.Registration{Code: code}))
	if first.status != http.StatusCreated {
		t.Fatalf("first: %d %s", first.status, first.body)
	}
	var reg schema.Registered
	first.decode(t, &reg)
	if reg.Token == "" || reg.AadhaarKey == "" || reg.Name != "team-1" || reg.Area != "DL-NW-W05" {
		t.Errorf("registered %s", first.body)
	}
	second := e.do(t, "POST", "/api/v1/devices/register", "", plain(schema.Registration{Code: code}))
	if second.status != http.StatusUnauthorized {
		t.Errorf("second: %d %s", second.status, second.body)
	}
}

func TestHealthzAndGracefulShutdown(t *testing.T) {
	st := storetest.Open(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	srv := httpapi.New(st, nil, httpapi.WithShutdownTimeout(5*time.Second))
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()

	res, err := http.Get("http://" + ln.Addr().String() + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("healthz: %d", res.StatusCode)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Serve after cancel: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return after cancel")
	}
	if _, err := http.Get("http://" + ln.Addr().String() + "/healthz"); err == nil {
		t.Error("still serving after shutdown")
	}
}
