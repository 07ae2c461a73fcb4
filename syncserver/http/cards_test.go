package httpapi_test

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/doorstep-health/doorstep/cards"
	"github.com/doorstep-health/doorstep/schema"
	"github.com/doorstep-health/doorstep/syncserver/store"
)

// cardsEnv is a server with n new persons, each with a queued card at
// printing centre DL-NW, pushed by a laptop and matched. It returns the
// residents' ids.
func cardsEnv(t *testing.T, n int) (*env, []string) {
	t.Helper()
	e := newEnv(t)
	dev, tok := e.device(t, "team-cards")
	hid := schema.NewID()
	h := schema.Household{ID: hid, Area: "DL-NW-W05", Outcome: schema.OutcomeEnrolled,
		Address:   schema.Address{Line1: "H.No. 12, Gali 3", Locality: "Rohini", City: "Delhi", Pincode: "110085"},
		Consent:   schema.Consent{Given: true, At: "2026-03-02T11:00:00+05:30"},
		VisitedAt: "2026-03-02T11:00:00+05:30"}
	recs := []schema.Record{{Kind: schema.KindHousehold, ID: hid, Version: 1, Data: plain(h).data}}
	var ids []string
	names := []string{"Aarav Mehta", "Kavita Rao", "Imran Qureshi", "Gurpreet Kaur", "Thomas Varghese", "Lalitha Iyer"}
	for i := range n {
		r := schema.Resident{ID: schema.NewID(), HouseholdID: hid, Name: names[i%len(names)], Sex: []string{"M", "F"}[i%2],
			DOB: fmt.Sprintf("19%02d-0%d-1%d", 50+7*i, 1+i%9, i%10), DOBPrecision: schema.PrecisionDay, Relation: "other",
			Phone: fmt.Sprintf("+9198%08d", 10000000+7919*i)}
		recs = append(recs, schema.Record{Kind: schema.KindResident, ID: r.ID, Version: 1, Data: plain(r).data})
		ids = append(ids, r.ID)
	}
	if res := e.do(t, http.MethodPost, "/api/v1/sync/batches", tok, gzipped(batch(dev, recs...))); res.status != http.StatusOK {
		t.Fatalf("push: %d %s", res.status, res.body)
	}
	rep, err := e.store.MatchAll(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if rep.New != n {
		t.Fatalf("matching made %d persons of %d distinct residents: %+v", rep.New, n, rep)
	}
	return e, ids
}

// healthIDOf returns the health ID issued to a resident's person.
func healthIDOf(t *testing.T, e *env, resident string) string {
	t.Helper()
	c, err := e.store.ValidCard(context.Background(), resident)
	if err != nil {
		t.Fatal(err)
	}
	return c.Card.HealthID.String()
}

// The public keys answer without a token, hold no private key, and show a
// key retired by another process (the CLI) at once.
func TestHealthCardKeys(t *testing.T) {
	e := newEnv(t)
	res := e.do(t, http.MethodGet, "/.well-known/health-card-keys", "", body{})
	if res.status != http.StatusOK || !strings.HasPrefix(res.header.Get("Content-Type"), "application/json") {
		t.Fatalf("keys: %d %s %s", res.status, res.header.Get("Content-Type"), res.body)
	}
	first, err := e.store.CardKeys().Active()
	if err != nil {
		t.Fatal(err)
	}
	set, err := cards.ParseKeySet(res.body)
	if err != nil {
		t.Fatalf("the served document does not parse as a key set: %v\n%s", err, res.body)
	}
	if ks := set.Keys(); len(ks) != 1 || ks[0].ID != first.ID() || ks[0].Status != cards.KeyActive {
		t.Errorf("served keys %+v, want the one active key %s", ks, first.ID())
	}
	if bytes.Contains(res.body, []byte(`"d"`)) || bytes.Contains(res.body, []byte("PRIVATE")) {
		t.Errorf("the public document carries private material: %s", res.body)
	}

	// `syncserver keys rotate` and `keys retire`, run while the server
	// runs, open the same key directory in their own process.
	cli, err := cards.OpenKeyRing(e.store.CardKeys().Dir())
	if err != nil {
		t.Fatal(err)
	}
	next, err := cli.Rotate()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cli.Retire(first.ID()); err != nil {
		t.Fatal(err)
	}
	res = e.do(t, http.MethodGet, "/.well-known/health-card-keys", "", body{})
	set, err = cards.ParseKeySet(res.body)
	if err != nil {
		t.Fatal(err)
	}
	status := map[string]string{}
	for _, k := range set.Keys() {
		status[k.ID] = k.Status
	}
	if status[first.ID()] != cards.KeyRetired || status[next.ID] != cards.KeyActive || len(status) != 2 {
		t.Errorf("after rotate and retire elsewhere the server publishes %v; want %s retired and %s active", status, first.ID(), next.ID)
	}
}

// A printing centre's day over the API: jobs take queued cards without
// doubles, the sheet is a real PDF whose QR codes verify with the
// published keys, and cards move on only when confirmed.
func TestPrintJobs(t *testing.T) {
	e, _ := cardsEnv(t, 3)
	ctx := context.Background()
	printer := e.token(t, schema.RolePrinter, "centre-dl-nw")

	res := e.do(t, http.MethodPost, "/api/v1/print-jobs", printer, plain(map[string]any{"centre": "DL-NW", "limit": 2}))
	if res.status != http.StatusCreated {
		t.Fatalf("create: %d %s", res.status, res.body)
	}
	var job store.PrintJob
	res.decode(t, &job)
	if job.ID == 0 || job.Centre != "DL-NW" || job.Status != "open" || len(job.Serials) != 2 || job.CreatedBy != "centre-dl-nw" {
		t.Fatalf("created job %s", res.body)
	}
	jobPath := fmt.Sprintf("/api/v1/print-jobs/%d", job.ID)

	var got store.PrintJob
	res = e.do(t, http.MethodGet, jobPath, printer, body{})
	res.decode(t, &got)
	if res.status != http.StatusOK || !slices.Equal(got.Serials, job.Serials) {
		t.Errorf("get job: %d %s", res.status, res.body)
	}

	// The rest of the queue, and then nothing: no card is in two jobs.
	res = e.do(t, http.MethodPost, "/api/v1/print-jobs", printer, plain(map[string]any{"centre": "DL-NW"}))
	var second store.PrintJob
	res.decode(t, &second)
	if res.status != http.StatusCreated || len(second.Serials) != 1 || slices.Contains(job.Serials, second.Serials[0]) {
		t.Fatalf("second job: %d %s; want the one card the first left", res.status, res.body)
	}
	if res := e.do(t, http.MethodPost, "/api/v1/print-jobs", printer, plain(map[string]any{"centre": "DL-NW"})); res.status != http.StatusNotFound {
		t.Errorf("third job with an empty queue: %d %s, want 404", res.status, res.body)
	}

	sheet := e.do(t, http.MethodGet, jobPath+"/sheet.pdf", printer, body{})
	if sheet.status != http.StatusOK || sheet.header.Get("Content-Type") != "application/pdf" || !bytes.HasPrefix(sheet.body, []byte("%PDF-")) {
		t.Fatalf("sheet: %d %s %.60q", sheet.status, sheet.header.Get("Content-Type"), sheet.body)
	}
	keys := e.do(t, http.MethodGet, "/.well-known/health-card-keys", "", body{})
	set, err := cards.ParseKeySet(keys.body)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("QR codes on the sheet verify", func(t *testing.T) {
		texts := qrCodesInPDF(t, sheet.body)
		var serials []string
		for _, text := range texts {
			c, _, err := cards.Verify(text, set, time.Now())
			if err != nil {
				t.Errorf("code on the sheet: %v", err)
				continue
			}
			serials = append(serials, c.Serial)
		}
		slices.Sort(serials)
		want := slices.Sorted(slices.Values(job.Serials))
		if !slices.Equal(serials, want) {
			t.Errorf("sheet carries the codes of %v, want the job's %v", serials, want)
		}
	})

	// A cancelled job gives its card back to the queue, and a new job takes it.
	res = e.do(t, http.MethodPost, fmt.Sprintf("/api/v1/print-jobs/%d/cancel", second.ID), printer, body{})
	if res.status != http.StatusOK {
		t.Fatalf("cancel: %d %s", res.status, res.body)
	}
	res = e.do(t, http.MethodPost, "/api/v1/print-jobs", printer, plain(map[string]any{"centre": "DL-NW"}))
	var third store.PrintJob
	res.decode(t, &third)
	if res.status != http.StatusCreated || !slices.Equal(third.Serials, second.Serials) {
		t.Errorf("job after cancel: %d %s, want the cancelled job's card %v", res.status, res.body, second.Serials)
	}

	st, err := e.store.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Cards.Queued != 3 || st.Cards.Printed != 0 {
		t.Errorf("before confirm: %+v, want all 3 still queued", st.Cards)
	}
	res = e.do(t, http.MethodPost, jobPath+"/confirm", printer, body{})
	res.decode(t, &got)
	if res.status != http.StatusOK || got.Status != "confirmed" || got.ConfirmedAt == "" {
		t.Fatalf("confirm: %d %s", res.status, res.body)
	}
	if st, _ = e.store.Stats(ctx); st.Cards.Queued != 1 || st.Cards.Printed != 2 {
		t.Errorf("after confirm: %+v, want 2 printed and 1 queued", st.Cards)
	}
	if res := e.do(t, http.MethodGet, jobPath+"/sheet.pdf", printer, body{}); res.status != http.StatusConflict {
		t.Errorf("sheet of a confirmed job: %d %s, want 409 (printing it again makes second copies)", res.status, res.body)
	}
	if res := e.do(t, http.MethodPost, jobPath+"/dispatch", printer, body{}); res.status != http.StatusOK {
		t.Fatalf("dispatch: %d %s", res.status, res.body)
	}
	deliver := "/api/v1/cards/" + job.Serials[0] + "/deliver"
	if res := e.do(t, http.MethodPost, deliver, printer, body{}); res.status != http.StatusOK {
		t.Fatalf("deliver: %d %s", res.status, res.body)
	}
	if res := e.do(t, http.MethodPost, deliver, printer, body{}); res.status != http.StatusConflict {
		t.Errorf("deliver twice: %d %s, want 409", res.status, res.body)
	}
	if st, _ = e.store.Stats(ctx); st.Cards.Dispatched != 1 || st.Cards.Delivered != 1 || st.Cards.Queued != 1 {
		t.Errorf("after dispatch and delivery: %+v", st.Cards)
	}
	if res := e.do(t, http.MethodPost, jobPath+"/cancel", printer, body{}); res.status != http.StatusConflict {
		t.Errorf("cancel a confirmed job: %d %s, want 409", res.status, res.body)
	}
}

// One card as PDF, for the roles that may see it.
func TestPersonCardPDF(t *testing.T) {
	e, residents := cardsEnv(t, 1)
	hid := healthIDOf(t, e, residents[0])
	path := "/api/v1/persons/" + hid + "/card.pdf"
	for _, role := range []string{schema.RolePrinter, schema.RoleSupervisor, schema.RoleAdmin} {
		res := e.do(t, http.MethodGet, path, e.token(t, role, "t-"+role), body{})
		if res.status != http.StatusOK || res.header.Get("Content-Type") != "application/pdf" || !bytes.HasPrefix(res.body, []byte("%PDF-")) {
			t.Errorf("%s: %d %s", role, res.status, res.header.Get("Content-Type"))
		}
	}
	t.Run("its QR verifies", func(t *testing.T) {
		res := e.do(t, http.MethodGet, path, e.token(t, schema.RolePrinter, "printer-2"), body{})
		keys := e.do(t, http.MethodGet, "/.well-known/health-card-keys", "", body{})
		set, err := cards.ParseKeySet(keys.body)
		if err != nil {
			t.Fatal(err)
		}
		texts := qrCodesInPDF(t, res.body)
		if len(texts) != 1 {
			t.Fatalf("card PDF carries %d codes, want 1", len(texts))
		}
		if c, _, err := cards.Verify(texts[0], set, time.Now()); err != nil || c.HealthID.String() != hid {
			t.Errorf("card PDF code: %+v %v, want health ID %s", c, err, hid)
		}
	})

	// Dashes or none, the health ID is the same; an unknown one is 404.
	if res := e.do(t, http.MethodGet, "/api/v1/persons/"+strings.ReplaceAll(hid, "-", "")+"/card.pdf", e.token(t, schema.RoleAdmin, "a2"), body{}); res.status != http.StatusOK {
		t.Errorf("health ID without dashes: %d %s", res.status, res.body)
	}
	if res := e.do(t, http.MethodGet, "/api/v1/persons/NO-SUCH-PERSON/card.pdf", e.token(t, schema.RoleAdmin, "a3"), body{}); res.status != http.StatusNotFound {
		t.Errorf("unknown person: %d %s", res.status, res.body)
	}
	// Revoked: no valid card to render.
	if _, err := e.store.RevokeCard(context.Background(), hid, "withdrawn", "test"); err != nil {
		t.Fatal(err)
	}
	if res := e.do(t, http.MethodGet, path, e.token(t, schema.RoleAdmin, "a4"), body{}); res.status != http.StatusNotFound {
		t.Errorf("revoked card: %d %s, want 404", res.status, res.body)
	}
}

// Who may do what: printers (and admins) run print jobs; a device,
// hospital or supervisor token is refused with 403, no token with 401.
func TestCardRoles(t *testing.T) {
	e, residents := cardsEnv(t, 1)
	_, device := e.device(t, "team-2")
	tokens := map[string]string{
		"none":                "",
		schema.RoleDevice:     device,
		schema.RoleHospital:   e.token(t, schema.RoleHospital, "aiims"),
		schema.RoleSupervisor: e.token(t, schema.RoleSupervisor, "sup"),
		schema.RolePrinter:    e.token(t, schema.RolePrinter, "centre"),
		schema.RoleAdmin:      e.token(t, schema.RoleAdmin, "admin"),
	}
	hid := healthIDOf(t, e, residents[0])
	type call struct {
		method, path string
		body         body
		ok           int
		allowed      []string
	}
	printers := []string{schema.RolePrinter, schema.RoleAdmin}
	calls := []call{
		{"POST", "/api/v1/print-jobs", plain(map[string]any{"centre": "NO-SUCH"}), http.StatusNotFound, printers},
		{"GET", "/api/v1/print-jobs/999", body{}, http.StatusNotFound, printers},
		{"GET", "/api/v1/print-jobs/999/sheet.pdf", body{}, http.StatusNotFound, printers},
		{"POST", "/api/v1/print-jobs/999/confirm", body{}, http.StatusNotFound, printers},
		{"POST", "/api/v1/print-jobs/999/cancel", body{}, http.StatusNotFound, printers},
		{"POST", "/api/v1/print-jobs/999/dispatch", body{}, http.StatusNotFound, printers},
		{"POST", "/api/v1/cards/CNOSUCH/deliver", body{}, http.StatusNotFound, printers},
		{"GET", "/api/v1/persons/" + hid + "/card.pdf", body{}, http.StatusOK, []string{schema.RolePrinter, schema.RoleAdmin, schema.RoleSupervisor}},
		{"GET", "/.well-known/health-card-keys", body{}, http.StatusOK, []string{"none", schema.RoleDevice, schema.RoleHospital, schema.RoleSupervisor, schema.RolePrinter, schema.RoleAdmin}},
	}
	for _, c := range calls {
		for role, tok := range tokens {
			want := http.StatusForbidden
			switch {
			case slices.Contains(c.allowed, role):
				want = c.ok
			case role == "none":
				want = http.StatusUnauthorized
			}
			res := e.do(t, c.method, c.path, tok, c.body)
			if res.status != want {
				t.Errorf("%s %s as %s: %d, want %d: %s", c.method, c.path, role, res.status, want, res.body)
			}
			if res.status >= 400 && res.header.Get("Content-Type") != "application/problem+json" {
				t.Errorf("%s %s as %s: error without a problem body: %s", c.method, c.path, role, res.header.Get("Content-Type"))
			}
		}
	}

	admin := tokens[schema.RoleAdmin]
	for _, tt := range []struct {
		name, method, path string
		body               body
		status             int
		field              string
	}{
		{"no centre", "POST", "/api/v1/print-jobs", plain(map[string]any{"limit": 5}), 422, "centre"},
		{"negative limit", "POST", "/api/v1/print-jobs", plain(map[string]any{"centre": "DL-NW", "limit": -1}), 422, "limit"},
		{"not JSON", "POST", "/api/v1/print-jobs", body{data: []byte("centre=DL-NW")}, 400, ""},
		{"job id not a number", "GET", "/api/v1/print-jobs/first", body{}, 422, "job"},
	} {
		res := e.do(t, tt.method, tt.path, admin, tt.body)
		var p schema.Problem
		res.decode(t, &p)
		if res.status != tt.status || p.Field != tt.field {
			t.Errorf("%s: %d %s, want %d with field %q", tt.name, res.status, res.body, tt.status, tt.field)
		}
	}
}

// qrCodesInPDF rasterises the first page of a PDF at 300 dpi with
// pdftoppm and reads every QR code on it with the pure-Go decoder.
func qrCodesInPDF(t *testing.T, pdf []byte) []string {
	t.Helper()
	if _, err := exec.LookPath("pdftoppm"); err != nil {
		t.Skip("pdftoppm not installed (Debian package poppler-utils; scripts/install-deps.sh installs it): QR decoding from the PDF skipped")
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "in.pdf")
	if err := os.WriteFile(in, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pdftoppm", "-r", "300", "-png", "-gray", "-singlefile", "-f", "1", "-l", "1", in, filepath.Join(dir, "page")).CombinedOutput()
	if err != nil {
		t.Fatalf("pdftoppm: %v\n%s", err, out)
	}
	f, err := os.Open(filepath.Join(dir, "page.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	texts, err := cards.DecodeImageAll(img)
	if err != nil {
		t.Fatalf("no QR code read on the rendered page: %v", err)
	}
	return texts
}

// A printer token limited to one printing centre gets that centre's jobs
// and nothing of another's.
func TestPrinterTokenLimitedToItsCentre(t *testing.T) {
	e, ids := cardsEnv(t, 3)
	ctx := context.Background()
	own, err := e.store.CreateToken(ctx, schema.RolePrinter, "centre-dl-nw-only", store.ForCentre("DL-NW"))
	if err != nil {
		t.Fatal(err)
	}
	other, err := e.store.CreateToken(ctx, schema.RolePrinter, "centre-dl-s-only", store.ForCentre("DL-S"))
	if err != nil {
		t.Fatal(err)
	}
	if res := e.do(t, http.MethodPost, "/api/v1/print-jobs", other, plain(map[string]any{"centre": "DL-NW"})); res.status != http.StatusForbidden {
		t.Fatalf("printer of DL-S creating a DL-NW job: %d %s, want 403", res.status, res.body)
	}
	// Without a centre in the request, the token's own centre is meant.
	res := e.do(t, http.MethodPost, "/api/v1/print-jobs", own, plain(map[string]any{"limit": 1}))
	var job store.PrintJob
	res.decode(t, &job)
	if res.status != http.StatusCreated || job.Centre != "DL-NW" {
		t.Fatalf("printer of DL-NW creating its own job: %d %s", res.status, res.body)
	}
	for _, path := range []string{fmt.Sprintf("/api/v1/print-jobs/%d", job.ID), fmt.Sprintf("/api/v1/print-jobs/%d/sheet.pdf", job.ID)} {
		if res := e.do(t, http.MethodGet, path, other, body{}); res.status != http.StatusForbidden {
			t.Errorf("GET %s by another centre's printer: %d, want 403", path, res.status)
		}
		if res := e.do(t, http.MethodGet, path, own, body{}); res.status != http.StatusOK {
			t.Errorf("GET %s by its own centre's printer: %d %s", path, res.status, res.body)
		}
	}
	if res := e.do(t, http.MethodPost, fmt.Sprintf("/api/v1/print-jobs/%d/confirm", job.ID), other, body{}); res.status != http.StatusForbidden {
		t.Errorf("confirm by another centre's printer: %d, want 403", res.status)
	}
	if _, err := e.store.CreateToken(ctx, schema.RoleSupervisor, "sup-with-centre", store.ForCentre("DL-NW")); err == nil {
		t.Error("a supervisor token limited to a centre was made")
	}

	// A single card's PDF (name, date of birth) and its delivery are
	// of its centre too; the refused read leaves no audit record.
	serial := job.Serials[0]
	card, err := e.store.ValidCard(ctx, ids[0])
	if err != nil {
		t.Fatal(err)
	}
	hid := card.Card.HealthID.String()
	before, err := e.store.AuditLog(ctx, hid)
	if err != nil {
		t.Fatal(err)
	}
	if res := e.do(t, http.MethodGet, "/api/v1/persons/"+hid+"/card.pdf", other, body{}); res.status != http.StatusForbidden {
		t.Errorf("card PDF by another centre's printer: %d, want 403", res.status)
	}
	if log, err := e.store.AuditLog(ctx, hid); err != nil || len(log) != len(before) {
		t.Errorf("refused read audited: %+v %v", log, err)
	}
	if res := e.do(t, http.MethodGet, "/api/v1/persons/"+hid+"/card.pdf", own, body{}); res.status != http.StatusOK {
		t.Errorf("card PDF by its own centre's printer: %d %s", res.status, res.body)
	}
	if res := e.do(t, http.MethodPost, "/api/v1/cards/"+serial+"/deliver", other, body{}); res.status != http.StatusForbidden {
		t.Errorf("delivery by another centre's printer: %d, want 403", res.status)
	}
}
