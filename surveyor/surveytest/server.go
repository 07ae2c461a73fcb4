// Package surveytest helps test the laptop side: a fake sync server that
// speaks docs/sync-protocol.md on 127.0.0.1 with scripted failures, and a
// small deterministic generator of valid households.
package surveytest

import (
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/doorstep-health/doorstep/schema"
)

// Failure is one scripted misbehaviour of the batches endpoint, used
// instead of processing the next push.
type Failure struct {
	Status     int             // answer with this status and Problem
	RetryAfter string          // Retry-After header, if any
	Problem    *schema.Problem // body; a default one when nil
	Cut        bool            // close the connection without answering
}

// Push is one push attempt as the server received it.
type Push struct {
	Encoding   string // Content-Encoding header
	Auth       string // Authorization header
	BodyBytes  int    // bytes on the wire
	Batch      schema.Batch
	AnsweredAs int // status code, or 0 for a cut connection
}

// Server is a fake sync server. It keeps (kind, id) → version like the
// real one, validates records with schema's ValidateRecord and issues a
// health ID for each accepted resident.
type Server struct {
	*httptest.Server
	Key      []byte
	Code     string
	Token    string
	DeviceID string

	// Reject, if set, may refuse a record with a result of its own.
	Reject func(schema.Record) *schema.RecordResult

	mu       sync.Mutex
	codeUsed bool
	versions map[string]int64
	pushes   []Push
	failures []Failure
	changes  []schema.Change
}

// NewServer starts a fake server on 127.0.0.1 that closes with the test.
func NewServer(t testing.TB) *Server {
	t.Helper()
	s := &Server{
		Key:      []byte("0123456789abcdef0123456789abcdef"),
		Code:     "TEST-CODE",
		Token:    "device-token-1",
		DeviceID: "DEV1",
		versions: map[string]int64{},
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/devices/register", s.register)
	mux.HandleFunc("POST /api/v1/sync/batches", s.batches)
	mux.HandleFunc("GET /api/v1/sync/changes", s.pull)
	s.Server = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

// FailNext scripts the next pushes to fail, in order.
func (s *Server) FailNext(f ...Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures = append(s.failures, f...)
}

// Pushes returns every push attempt received so far.
func (s *Server) Pushes() []Push {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Push(nil), s.pushes...)
}

// Version returns the version the server holds of a record, 0 if none.
func (s *Server) Version(kind, id string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.versions[kind+"/"+id]
}

// AddChange queues a change for the device, as the matcher or printing
// centre would.
func (s *Server) AddChange(c schema.Change) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c.Seq = int64(len(s.changes) + 1)
	s.changes = append(s.changes, c)
}

func problem(w http.ResponseWriter, status int, code, msg string) {
	writeProblem(w, &schema.Problem{Title: http.StatusText(status), Status: status, Code: code, Message: msg})
}

func writeProblem(w http.ResponseWriter, p *schema.Problem) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(p.Status)
	json.NewEncoder(w).Encode(p)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (s *Server) register(w http.ResponseWriter, r *http.Request) {
	var reg schema.Registration
	if err := json.NewDecoder(r.Body).Decode(&reg); err != nil {
		problem(w, 400, schema.EMALFORMED, "body is not JSON")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if reg.Code != s.Code || s.codeUsed {
		problem(w, 401, schema.EUNAUTHORIZED, "unknown, used or expired code")
		return
	}
	s.codeUsed = true
	writeJSON(w, http.StatusCreated, schema.Registered{DeviceID: s.DeviceID, Name: "laptop 1", Area: "DL-NW-W05",
		Token: s.Token, AadhaarKey: base64.StdEncoding.EncodeToString(s.Key)})
}

func (s *Server) authorized(w http.ResponseWriter, r *http.Request) bool {
	if r.Header.Get("Authorization") != "Bearer "+s.Token {
		problem(w, 401, schema.EUNAUTHORIZED, "unknown token")
		return false
	}
	return true
}

func (s *Server) batches(w http.ResponseWriter, r *http.Request) {
	raw, err := io.ReadAll(io.LimitReader(r.Body, schema.MaxGzipBytes+1))
	if err != nil {
		return
	}
	push := Push{Encoding: r.Header.Get("Content-Encoding"), Auth: r.Header.Get("Authorization"), BodyBytes: len(raw)}
	body := io.Reader(strings.NewReader(string(raw)))
	if push.Encoding == "gzip" {
		zr, err := gzip.NewReader(body)
		if err != nil {
			problem(w, 400, schema.EMALFORMED, "body is not gzip")
			return
		}
		body = zr
	}
	decodeErr := json.NewDecoder(body).Decode(&push.Batch)

	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.failures) > 0 {
		f := s.failures[0]
		s.failures = s.failures[1:]
		if f.Cut {
			s.pushes = append(s.pushes, push)
			conn, _, err := http.NewResponseController(w).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		}
		push.AnsweredAs = f.Status
		s.pushes = append(s.pushes, push)
		p := f.Problem
		if p == nil {
			p = &schema.Problem{Title: http.StatusText(f.Status), Status: f.Status, Code: schema.EINTERNAL, Message: "try later"}
		}
		if f.RetryAfter != "" {
			w.Header().Set("Retry-After", f.RetryAfter)
		}
		writeProblem(w, p)
		return
	}
	if !s.authorized(w, r) {
		push.AnsweredAs = 401
		s.pushes = append(s.pushes, push)
		return
	}
	if decodeErr != nil {
		push.AnsweredAs = 400
		s.pushes = append(s.pushes, push)
		problem(w, 400, schema.EMALFORMED, "body is not a JSON batch: "+decodeErr.Error())
		return
	}
	push.AnsweredAs = 200
	s.pushes = append(s.pushes, push)
	res := schema.BatchResult{BatchID: push.Batch.BatchID}
	for _, rec := range push.Batch.Records {
		res.Results = append(res.Results, s.apply(rec))
	}
	writeJSON(w, 200, res)
}

// apply decides one record the way the protocol says, with s.mu held.
func (s *Server) apply(rec schema.Record) schema.RecordResult {
	out := schema.RecordResult{Kind: rec.Kind, ID: rec.ID, Version: rec.Version}
	reject := func(code, field, msg string) schema.RecordResult {
		out.Status, out.Code, out.Field, out.Message = schema.StatusRejected, code, field, msg
		return out
	}
	if s.Reject != nil {
		if rr := s.Reject(rec); rr != nil {
			return *rr
		}
	}
	now := time.Now()
	switch rec.Kind {
	case schema.KindHousehold:
		var h schema.Household
		if err := json.Unmarshal(rec.Data, &h); err != nil {
			return reject(schema.EINVALID, "", "data is not a household")
		}
		if err := h.ValidateRecord(now); err != nil && !rec.Deleted {
			e := err.(schema.ValidationErrors).First()
			return reject(schema.EINVALID, e.Field, e.Message)
		}
	case schema.KindResident:
		var m schema.Resident
		if err := json.Unmarshal(rec.Data, &m); err != nil {
			return reject(schema.EINVALID, "", "data is not a resident")
		}
		if !rec.Deleted {
			if err := m.ValidateRecord(now); err != nil {
				e := err.(schema.ValidationErrors).First()
				return reject(schema.EINVALID, e.Field, e.Message)
			}
		}
		if s.versions[schema.KindHousehold+"/"+m.HouseholdID] == 0 {
			return reject(schema.ENOTFOUND, "household_id", "household "+m.HouseholdID+" is not on the server")
		}
	default:
		return reject(schema.EINVALID, "kind", "unknown kind")
	}
	key := rec.Kind + "/" + rec.ID
	have := s.versions[key]
	switch {
	case rec.Version == have:
		out.Status = schema.StatusDuplicate
	case rec.Version < have:
		out.Status = schema.StatusStale
	default:
		out.Status = schema.StatusAccepted
		s.versions[key] = rec.Version
		if rec.Kind == schema.KindResident && !rec.Deleted && have == 0 {
			s.changes = append(s.changes, schema.Change{Seq: int64(len(s.changes) + 1), Kind: "health_id_issued",
				RecordID: rec.ID, HealthID: HealthIDFor(rec.ID), At: now.Format(time.RFC3339)})
		}
	}
	return out
}

// HealthIDFor is the health ID the fake issues for a resident.
func HealthIDFor(residentID string) string {
	var n uint64 = 1469598103934665603
	for i := 0; i < len(residentID); i++ {
		n = (n ^ uint64(residentID[i])) * 1099511628211
	}
	return fmt.Sprintf("%02d-%04d-%04d-%04d", n%100, n/100%10000, n/1e6%10000, n/1e10%10000)
}

func (s *Server) pull(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(w, r) {
		return
	}
	after, _ := strconv.ParseInt(r.URL.Query().Get("after"), 10, 64)
	limit, _ := strconv.Atoi(r.URL.Query().Get("limit"))
	if limit <= 0 {
		limit = 100
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := schema.Changes{Changes: []schema.Change{}, Cursor: after}
	for _, c := range s.changes {
		if c.Seq <= after {
			continue
		}
		if len(out.Changes) == limit {
			out.More = true
			break
		}
		out.Changes = append(out.Changes, c)
		out.Cursor = c.Seq
	}
	writeJSON(w, 200, out)
}
