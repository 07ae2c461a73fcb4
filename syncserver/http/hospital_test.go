package httpapi_test

import (
	"context"
	"crypto/rand"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/doorstep-health/doorstep/cards"
	"github.com/doorstep-health/doorstep/schema"
	"github.com/doorstep-health/doorstep/syncserver/store"
)

// A hospital's day over the API: scans verified online, lookups, the feed;
// and every read of a person's data, by any role, lands in the audit log.
func TestHospitalAPI(t *testing.T) {
	ctx := context.Background()
	e, ids := cardsEnv(t, 3)
	hospital := e.token(t, schema.RoleHospital, "aiims-desk-3")
	supervisor := e.token(t, schema.RoleSupervisor, "supervisor-asha")
	printer := e.token(t, schema.RolePrinter, "centre-dl-nw")
	card, err := e.store.ValidCard(ctx, ids[0])
	if err != nil {
		t.Fatal(err)
	}
	hid := card.Card.HealthID.String()

	var v store.CardVerdict
	res := e.do(t, http.MethodPost, "/api/v1/cards/verify", hospital, plain(map[string]string{"qr": card.QR}))
	if res.status != http.StatusOK {
		t.Fatalf("verify: %d %s", res.status, res.body)
	}
	res.decode(t, &v)
	if v.Status != "valid" || v.HealthID != hid || v.Name != card.Card.Name || v.BirthYear != card.Card.DOB[:4] || v.Sex != card.Card.Sex {
		t.Errorf("verify a fresh card: %+v", v)
	}
	res = e.do(t, http.MethodPost, "/api/v1/cards/verify", hospital, plain(map[string]string{"qr": "HELLO"}))
	v = store.CardVerdict{}
	res.decode(t, &v)
	if res.status != http.StatusOK || v.Status != "invalid" || v.Reason != "not_base45" || v.HealthID != "" {
		t.Errorf("verify garbage: %d %+v", res.status, v)
	}

	var p store.Person
	res = e.do(t, http.MethodGet, "/api/v1/persons/"+strings.ReplaceAll(hid, "-", ""), hospital, body{})
	if res.status != http.StatusOK {
		t.Fatalf("person: %d %s", res.status, res.body)
	}
	res.decode(t, &p)
	if p.HealthID != hid || p.Name != card.Card.Name || p.Status != "active" || p.Card == nil || p.Card.Serial != card.Serial {
		t.Errorf("person: %+v", p)
	}

	var page store.FeedPage
	res = e.do(t, http.MethodGet, "/api/v1/feed?after=0&limit=4", hospital, body{})
	res.decode(t, &page)
	if res.status != http.StatusOK || len(page.Events) != 4 || page.Next != page.Events[3].Seq || page.Events[0].Kind != store.EventPersonCreated ||
		page.Events[0].Person == nil || page.Events[1].Kind != store.EventCardIssued || page.Events[1].Card == nil {
		t.Fatalf("feed first page: %d %s", res.status, res.body)
	}
	res = e.do(t, http.MethodGet, "/api/v1/feed?after=1000000&wait=0s", hospital, body{})
	res.decode(t, &page)
	if res.status != http.StatusOK || len(page.Events) != 0 || page.Next != 1000000 {
		t.Errorf("feed past the end: %d %s", res.status, res.body)
	}

	// The printer's sheet and the supervisor's card PDF show names and
	// dates of birth: audited too.
	res = e.do(t, http.MethodPost, "/api/v1/print-jobs", printer, plain(map[string]any{"centre": "DL-NW"}))
	var job store.PrintJob
	res.decode(t, &job)
	if res.status != http.StatusCreated || len(job.Serials) != 3 {
		t.Fatalf("print job: %d %s", res.status, res.body)
	}
	if res = e.do(t, http.MethodGet, "/api/v1/print-jobs/"+strconv.FormatInt(job.ID, 10)+"/sheet.pdf", printer, body{}); res.status != http.StatusOK {
		t.Fatalf("sheet: %d %s", res.status, res.body)
	}
	if res = e.do(t, http.MethodGet, "/api/v1/persons/"+hid+"/card.pdf", supervisor, body{}); res.status != http.StatusOK {
		t.Fatalf("card pdf: %d %s", res.status, res.body)
	}

	var log struct {
		Records []store.AuditRecord `json:"records"`
	}
	res = e.do(t, http.MethodGet, "/api/v1/persons/"+hid+"/audit", supervisor, body{})
	res.decode(t, &log)
	var got []string
	for _, r := range log.Records {
		got = append(got, r.Action+" by "+r.TokenName+" ("+r.Role+") from "+r.Client)
	}
	want := []string{
		"card.verify by aiims-desk-3 (hospital) from 127.0.0.1",
		"person.read by aiims-desk-3 (hospital) from 127.0.0.1",
		"feed.read by aiims-desk-3 (hospital) from 127.0.0.1",
		"print.sheet by centre-dl-nw (printer) from 127.0.0.1",
		"card.pdf by supervisor-asha (supervisor) from 127.0.0.1",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("audit log of %s:\n%s\nwant:\n%s", hid, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// Mistakes get a problem naming the field, never a 500.
func TestHospitalAPIBadRequests(t *testing.T) {
	e, _ := cardsEnv(t, 1)
	hospital := e.token(t, schema.RoleHospital, "desk")
	unknown, err := cards.NewHealthID(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, method, path string
		body               body
		status             int
		code, field        string
	}{
		{"verify without qr", http.MethodPost, "/api/v1/cards/verify", plain(map[string]string{}), 422, schema.EINVALID, "qr"},
		{"verify not JSON", http.MethodPost, "/api/v1/cards/verify", body{data: []byte("qr=abc")}, 400, schema.EMALFORMED, ""},
		{"verify too large", http.MethodPost, "/api/v1/cards/verify", plain(map[string]string{"qr": strings.Repeat("A", 20000)}), 413, schema.ETOOLARGE, ""},
		{"unknown health ID", http.MethodGet, "/api/v1/persons/" + unknown.String(), body{}, 404, schema.ENOTFOUND, ""},
		{"not a health ID", http.MethodGet, "/api/v1/persons/DROP%20TABLE", body{}, 404, schema.ENOTFOUND, "health_id"},
		{"feed bad wait", http.MethodGet, "/api/v1/feed?wait=forever", body{}, 422, schema.EINVALID, "wait"},
		{"feed wait too long", http.MethodGet, "/api/v1/feed?wait=5m", body{}, 422, schema.EINVALID, "wait"},
		{"feed limit too big", http.MethodGet, "/api/v1/feed?limit=5000", body{}, 422, schema.EINVALID, "limit"},
		{"feed negative cursor", http.MethodGet, "/api/v1/feed?after=-3", body{}, 422, schema.EINVALID, "after"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := e.do(t, tc.method, tc.path, hospital, tc.body)
			var p schema.Problem
			res.decode(t, &p)
			if res.status != tc.status || p.Code != tc.code || p.Field != tc.field {
				t.Errorf("%d %s, want %d %s field %q", res.status, res.body, tc.status, tc.code, tc.field)
			}
		})
	}
}
