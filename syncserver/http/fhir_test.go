package httpapi_test

import (
	"context"
	"crypto/rand"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/doorstep-health/doorstep/cards"
	"github.com/doorstep-health/doorstep/schema"
	"github.com/doorstep-health/doorstep/syncserver/fhir"
	"github.com/doorstep-health/doorstep/syncserver/fhir/fhirtest"
	httpapi "github.com/doorstep-health/doorstep/syncserver/http"
	"github.com/doorstep-health/doorstep/syncserver/store"
)

// fhirSchema is HL7's R4 JSON schema, from this package's directory.
const fhirSchema = "../fhir/testdata/fhir.schema.json.gz"

// fhirClient asks a server's FHIR interface and checks what every answer
// must be: application/fhir+json, and a valid R4 resource.
type fhirClient struct {
	e      *env
	schema *fhirtest.Validator
}

func (f fhirClient) get(t *testing.T, path, token string, wantStatus int, v any) response {
	t.Helper()
	res := f.e.do(t, http.MethodGet, path, token, body{})
	if res.status != wantStatus {
		t.Errorf("GET %s: %d, want %d: %s", path, res.status, wantStatus, res.body)
	}
	if ct := res.header.Get("Content-Type"); ct != fhir.ContentType {
		t.Errorf("GET %s: Content-Type %q, want %q", path, ct, fhir.ContentType)
	}
	f.schema.Check(t, "GET "+path, res.body)
	if v != nil {
		res.decode(t, v)
	}
	return res
}

// outcome asks for path and checks that the answer is an OperationOutcome
// of one error of FHIR issue type code.
func (f fhirClient) outcome(t *testing.T, path, token string, wantStatus int, code string) fhir.OperationOutcome {
	t.Helper()
	var oo fhir.OperationOutcome
	f.get(t, path, token, wantStatus, &oo)
	if oo.ResourceType != "OperationOutcome" || len(oo.Issue) != 1 || oo.Issue[0].Severity != "error" ||
		oo.Issue[0].Code != code || oo.Issue[0].Diagnostics == "" {
		t.Errorf("GET %s: outcome %+v, want one error of type %s", path, oo, code)
	}
	return oo
}

func searchPath(value string) string {
	return "/fhir/Patient?" + url.Values{"identifier": {value}}.Encode()
}

func fhirDigits(hid string) string { return strings.ReplaceAll(hid, "-", "") }

// A hospital reads and searches Patients over FHIR: by health ID with or
// without dashes, a merged ID as an inactive Patient replaced by its
// survivor, misses as empty Bundles, errors as OperationOutcomes; and each
// Patient it reads is in the audit log.
func TestFHIRPatient(t *testing.T) {
	ctx := context.Background()
	e := reviewEnv(t)
	f := fhirClient{e: e, schema: fhirtest.Load(t, fhirSchema)}

	// One more person, with a phone and a date of birth to the day.
	imran := schema.Resident{ID: "imran-1", Name: "Mohammed Imran Qureshi", Sex: "M", DOB: "1979-11-04", Phone: "+919811122233"}
	dev, tok := e.device(t, "team-fhir")
	if res := e.do(t, http.MethodPost, "/api/v1/sync/batches", tok,
		gzipped(batch(dev, enrolled("hh-5", "H.No. 7, Gali 2", "Seelampur", "110053", imran)...))); res.status != http.StatusOK {
		t.Fatalf("push: %d %s", res.status, res.body)
	}
	if _, err := e.store.MatchAll(ctx); err != nil {
		t.Fatal(err)
	}
	active := healthIDOf(t, e, "imran-1")

	// Merge one review pair: the task's first resident's person is folded
	// into the candidate's.
	tasks, err := e.store.ReviewTasks(ctx, store.ReviewFilter{})
	if err != nil || len(tasks) == 0 {
		t.Fatalf("review tasks: %v %v", tasks, err)
	}
	merged, survivor := healthIDOf(t, e, tasks[0].A.Resident.ID), healthIDOf(t, e, tasks[0].B.Resident.ID)
	if _, err := e.store.DecideReview(ctx, tasks[0].ID, store.DecisionSame, "asha"); err != nil {
		t.Fatal(err)
	}

	hospital := e.token(t, schema.RoleHospital, "aiims-fhir")

	// Read, by digits and dashed.
	for _, id := range []string{fhirDigits(active), active} {
		var p fhir.Patient
		f.get(t, "/fhir/Patient/"+id, hospital, http.StatusOK, &p)
		if p.ResourceType != "Patient" || p.ID != fhirDigits(active) || !p.Active || p.Link != nil {
			t.Errorf("read %s: %+v", id, p)
		}
		if len(p.Identifier) != 1 || p.Identifier[0].System != fhir.HealthIDSystem || p.Identifier[0].Value != fhirDigits(active) {
			t.Errorf("read %s: identifier %+v", id, p.Identifier)
		}
		if len(p.Name) != 1 || p.Name[0].Text != imran.Name || p.Name[0].Family != "Qureshi" ||
			!slices.Equal(p.Name[0].Given, []string{"Mohammed", "Imran"}) {
			t.Errorf("read %s: name %+v", id, p.Name)
		}
		if p.Gender != "male" || p.BirthDate != "1979-11-04" || p.Meta == nil || p.Meta.LastUpdated == "" {
			t.Errorf("read %s: gender %q, birthDate %q, meta %+v", id, p.Gender, p.BirthDate, p.Meta)
		}
		if len(p.Telecom) != 1 || p.Telecom[0] != (fhir.ContactPoint{System: "phone", Value: imran.Phone, Use: "mobile"}) {
			t.Errorf("read %s: telecom %+v", id, p.Telecom)
		}
		if len(p.Address) != 1 || !slices.Equal(p.Address[0].Line, []string{"H.No. 7, Gali 2", "Seelampur"}) ||
			p.Address[0].City != "Delhi" || p.Address[0].PostalCode != "110053" || p.Address[0].Country != "IN" {
			t.Errorf("read %s: address %+v", id, p.Address)
		}
	}

	// Search: a hit, by the system and by the value alone, dashed or not.
	for _, value := range []string{fhir.HealthIDSystem + "|" + fhirDigits(active), fhir.HealthIDSystem + "|" + active, fhirDigits(active)} {
		var b fhir.Bundle
		f.get(t, searchPath(value), hospital, http.StatusOK, &b)
		if b.ResourceType != "Bundle" || b.Type != "searchset" || b.Total != 1 || len(b.Entry) != 1 {
			t.Fatalf("search %s: %+v", value, b)
		}
		en := b.Entry[0]
		if en.FullURL != e.url+"/fhir/Patient/"+fhirDigits(active) || en.Resource.ID != fhirDigits(active) ||
			en.Search == nil || en.Search.Mode != "match" || !en.Resource.Active {
			t.Errorf("search %s: entry %+v", value, en)
		}
	}

	// Misses are empty Bundles: an ID never issued, no health ID at all,
	// another system, no system.
	never, err := cards.NewHealthID(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for _, value := range []string{
		fhir.HealthIDSystem + "|" + never.Digits(),
		fhir.HealthIDSystem + "|12345",
		fhir.HealthIDSystem + "|" + fhirDigits(active)[:13] + "x",
		"https://abdm.gov.in/abha|" + fhirDigits(active),
		"|" + fhirDigits(active),
	} {
		var b fhir.Bundle
		res := f.get(t, searchPath(value), hospital, http.StatusOK, &b)
		if b.ResourceType != "Bundle" || b.Type != "searchset" || b.Total != 0 || b.Entry != nil || !strings.Contains(string(res.body), `"total":0`) {
			t.Errorf("search %s: %s", value, res.body)
		}
	}

	// The merged ID answers as itself, inactive, replaced by the survivor;
	// the survivor lists it as replaced.
	var m fhir.Patient
	f.get(t, "/fhir/Patient/"+merged, hospital, http.StatusOK, &m)
	if m.ID != fhirDigits(merged) || m.Active || len(m.Link) != 1 || m.Link[0].Type != "replaced-by" ||
		m.Link[0].Other.Reference != "Patient/"+fhirDigits(survivor) {
		t.Errorf("merged %s (survivor %s): active %v, links %+v", merged, survivor, m.Active, m.Link)
	}
	var b fhir.Bundle
	f.get(t, searchPath(fhir.HealthIDSystem+"|"+fhirDigits(merged)), hospital, http.StatusOK, &b)
	if b.Total != 1 || len(b.Entry) != 1 || b.Entry[0].Resource.ID != fhirDigits(merged) || b.Entry[0].Resource.Active ||
		len(b.Entry[0].Resource.Link) != 1 || b.Entry[0].Resource.Link[0].Type != "replaced-by" {
		t.Errorf("search the merged ID: %+v", b)
	}
	var s fhir.Patient
	f.get(t, "/fhir/Patient/"+fhirDigits(survivor), hospital, http.StatusOK, &s)
	if !s.Active || !slices.Contains(s.Link, fhir.PatientLink{Other: fhir.Reference{Reference: "Patient/" + fhirDigits(merged)}, Type: "replaces"}) {
		t.Errorf("survivor %s: active %v, links %+v", survivor, s.Active, s.Link)
	}

	// Errors are OperationOutcomes with the status of the rest of the API.
	supervisor := e.token(t, schema.RoleSupervisor, "asha-fhir")
	f.outcome(t, "/fhir/Patient/"+never.String(), hospital, http.StatusNotFound, "not-found")
	f.outcome(t, "/fhir/Patient/not-an-id", hospital, http.StatusNotFound, "not-found")
	f.outcome(t, "/fhir/Patient/"+fhirDigits(active), supervisor, http.StatusForbidden, "forbidden")
	f.outcome(t, searchPath(fhirDigits(active)), supervisor, http.StatusForbidden, "forbidden")
	res := e.do(t, http.MethodGet, "/fhir/Patient/"+fhirDigits(active), "", body{})
	if res.header.Get("WWW-Authenticate") == "" {
		t.Errorf("401 without WWW-Authenticate: %v", res.header)
	}
	f.outcome(t, "/fhir/Patient/"+fhirDigits(active), "", http.StatusUnauthorized, "login")
	f.outcome(t, "/fhir/Patient/"+fhirDigits(active), "not-a-token", http.StatusUnauthorized, "login")
	f.outcome(t, "/fhir/Patient", hospital, http.StatusUnprocessableEntity, "invalid")
	f.outcome(t, searchPath(strings.Repeat(fhirDigits(active)+",", fhir.MaxSearchIdentifiers)+fhirDigits(active)), hospital, http.StatusUnprocessableEntity, "invalid")
	f.outcome(t, "/fhir/Observation/1", hospital, http.StatusNotFound, "not-found")
	if res := e.do(t, http.MethodPost, "/fhir/Patient", hospital, plain(map[string]string{"resourceType": "Patient"})); res.status != http.StatusMethodNotAllowed ||
		res.header.Get("Content-Type") != fhir.ContentType || !strings.Contains(string(res.body), `"not-supported"`) {
		t.Errorf("POST /fhir/Patient: %d %s %s", res.status, res.header.Get("Content-Type"), res.body)
	}

	// Every Patient read is audited, by the token, as read or search; a
	// miss or a refused request read nobody.
	log, err := e.store.AuditLog(ctx, active)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range log {
		got = append(got, r.Action+" "+r.HealthID+" by "+r.TokenName+" ("+r.Role+") from "+r.Client)
	}
	read := "fhir.read " + active + " by aiims-fhir (hospital) from 127.0.0.1"
	search := "fhir.search " + active + " by aiims-fhir (hospital) from 127.0.0.1"
	if want := []string{read, read, search, search, search}; !slices.Equal(got, want) {
		t.Errorf("audit log of %s:\n%s\nwant:\n%s", active, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	log, err = e.store.AuditLog(ctx, merged)
	if err != nil {
		t.Fatal(err)
	}
	got = got[:0]
	for _, r := range log {
		got = append(got, r.Action+" "+r.HealthID)
	}
	for _, want := range []string{"fhir.read " + merged, "fhir.search " + merged, "fhir.read " + survivor} {
		if !slices.Contains(got, want) {
			t.Errorf("audit log of merged %s (survivor %s) lacks %q: %v", merged, survivor, want, got)
		}
	}
}

// The CapabilityStatement is open to anyone: it tells a FHIR client how to
// authenticate, and holds nothing about anyone.
func TestFHIRMetadata(t *testing.T) {
	e := newEnv(t)
	f := fhirClient{e: e, schema: fhirtest.Load(t, fhirSchema)}
	var cs fhir.CapabilityStatement
	f.get(t, "/fhir/metadata", "", http.StatusOK, &cs)
	if cs.ResourceType != "CapabilityStatement" || cs.Status != "active" || cs.Kind != "instance" || cs.FHIRVersion != "4.0.1" ||
		!slices.Equal(cs.Format, []string{"json"}) || len(cs.Rest) != 1 || cs.Rest[0].Mode != "server" {
		t.Fatalf("capabilities: %+v", cs)
	}
	if cs.Implementation == nil || cs.Implementation.URL != e.url+"/fhir" {
		t.Errorf("implementation: %+v", cs.Implementation)
	}
	r := cs.Rest[0].Resource
	if len(r) != 1 || r[0].Type != "Patient" || len(r[0].SearchParam) != 1 || r[0].SearchParam[0].Name != "identifier" ||
		r[0].SearchParam[0].Type != "token" {
		t.Fatalf("resources: %+v", r)
	}
	var codes []string
	for _, in := range r[0].Interaction {
		codes = append(codes, in.Code)
	}
	if !slices.Equal(codes, []string{"read", "search-type"}) {
		t.Errorf("interactions %v", codes)
	}
}

// A hospital over its rate limit gets a throttled OperationOutcome with
// Retry-After.
func TestFHIRRateLimited(t *testing.T) {
	e := newEnv(t)
	srv := httpapi.New(e.store, slog.New(slog.DiscardHandler), httpapi.WithRateLimit(0.001, 1))
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(ts.Close)
	limited := &env{store: e.store, url: ts.URL, logs: e.logs}
	f := fhirClient{e: limited, schema: fhirtest.Load(t, fhirSchema)}
	hospital := e.token(t, schema.RoleHospital, "busy-desk")
	never, err := cards.NewHealthID(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	f.outcome(t, "/fhir/Patient/"+never.Digits(), hospital, http.StatusNotFound, "not-found")
	f.outcome(t, "/fhir/Patient/"+never.Digits(), hospital, http.StatusTooManyRequests, "throttled")
	if res := limited.do(t, http.MethodGet, "/fhir/Patient/"+never.Digits(), hospital, body{}); res.header.Get("Retry-After") == "" {
		t.Errorf("429 without Retry-After: %d %v", res.status, res.header)
	}
}
