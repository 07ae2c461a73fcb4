package cli_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/doorstep-health/doorstep/cards"
	"github.com/doorstep-health/doorstep/schema"
	"github.com/doorstep-health/doorstep/syncserver/store"
)

// withCards seeds the env's registry with enrolled residents of one
// household, matched into persons with queued cards at DL-NW, and returns
// the household's id and the residents'. A name the card font cannot
// print gives a held card.
func (e *cmdEnv) withCards(t *testing.T, names ...string) (string, []string) {
	t.Helper()
	var hid string
	var ids []string
	e.withStore(t, func(s *store.Store) {
		ctx := context.Background()
		dev, code, err := s.AddDevice(ctx, "team", "DL-NW-W05")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.RegisterDevice(ctx, code, ""); err != nil {
			t.Fatal(err)
		}
		hid = schema.NewID()
		h := schema.Household{ID: hid, Area: "DL-NW-W05", Outcome: schema.OutcomeEnrolled,
			Address:   schema.Address{Line1: "H.No. 4", Locality: "Rohini", City: "Delhi", Pincode: "110085"},
			Consent:   schema.Consent{Given: true, At: "2026-03-02T11:00:00+05:30"},
			VisitedAt: "2026-03-02T11:00:00+05:30"}
		recs := []schema.Record{{Kind: schema.KindHousehold, ID: hid, Version: 1, Data: mustJSON(t, h)}}
		for i, name := range names {
			r := schema.Resident{ID: schema.NewID(), HouseholdID: hid, Name: name, Sex: "F", Relation: "other",
				DOB: []string{"1961-04-12", "1978-11-30", "1990-01-05", "2001-07-19"}[i%4], DOBPrecision: schema.PrecisionDay}
			recs = append(recs, schema.Record{Kind: schema.KindResident, ID: r.ID, Version: 1, Data: mustJSON(t, r)})
			ids = append(ids, r.ID)
		}
		b := schema.Batch{BatchID: schema.NewID(), DeviceID: dev, SchemaVersion: schema.SchemaVersion, Records: recs}
		if _, err := s.ApplyBatch(ctx, dev, b, 0); err != nil {
			t.Fatal(err)
		}
		if rep, err := s.MatchAll(ctx); err != nil || rep.New != len(names) {
			t.Fatalf("matching: %+v %v; want %d new persons", rep, err, len(names))
		}
	})
	return hid, ids
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCardsCommands(t *testing.T) {
	e := newCmdEnv(t)
	household, ids := e.withCards(t, "Sushila Devi", "Nguyễn Thị Hoa", "Farida Begum")
	out := filepath.Join(e.dir, "sheet.pdf")

	// The card whose name the font cannot print is held, loudly, and the
	// other two are printed.
	r := e.run(t, "", "cards", "print", "--centre", "DL-NW", "--out", out)
	if r.code != 0 || !strings.Contains(r.out, "print job 1 for centre DL-NW: 2 cards on 1 sheets") || !strings.Contains(r.out, "cards confirm 1") {
		t.Fatalf("print: %+v", r)
	}
	if !strings.Contains(r.err, "WARNING: 1 queued cards of centre DL-NW are HELD") || !strings.Contains(r.err, "ễ") {
		t.Errorf("print does not warn of the held card: %q", r.err)
	}
	if fi, err := os.Stat(out); err != nil || fi.Size() == 0 || fi.Mode().Perm() != 0o600 {
		t.Errorf("sheet: %v %v", fi, err)
	}
	var job struct {
		ID      int64
		Serials []string
		Held    []struct{ Serial, Problem string }
		Count   int
		Sheets  int
	}
	if err := json.Unmarshal([]byte(e.ok(t, "cards", "print", "--job", "1", "--out", out, "--json")), &job); err != nil {
		t.Fatal(err)
	}
	if job.ID != 1 || job.Count != 2 || job.Sheets != 1 || len(job.Serials) != 2 || len(job.Held) != 1 || job.Held[0].Problem == "" {
		t.Errorf("print --job 1 --json: %+v", job)
	}
	// Nothing left to print but the held card: the refusal says why.
	if r := e.run(t, "", "cards", "print", "--centre", "DL-NW", "--out", out); r.code != 1 || !strings.Contains(r.err, "no printable queued cards") ||
		!strings.Contains(r.err, "WARNING: 1 queued cards of centre DL-NW are HELD") {
		t.Errorf("a second job while the first is open: %+v", r)
	}
	e.ok(t, "cards", "confirm", "1")
	if r := e.run(t, "", "cards", "print", "--job", "1", "--out", out); r.code != 1 || !strings.Contains(r.err, "confirmed") {
		t.Errorf("re-render a confirmed job: %+v", r)
	}

	// Listing, reprint, verification of what the list holds.
	var list struct {
		Cards []struct {
			Serial, Status, Name, QR string
			HealthID                 string `json:"health_id"`
			Version                  int
		}
	}
	if err := json.Unmarshal([]byte(e.ok(t, "cards", "list", ids[0], "--json")), &list); err != nil {
		t.Fatal(err)
	}
	if len(list.Cards) != 1 || list.Cards[0].Status != "printed" || list.Cards[0].Name != "Sushila Devi" || list.Cards[0].QR == "" {
		t.Fatalf("cards list: %+v", list)
	}
	hid := list.Cards[0].HealthID
	v := e.ok(t, "verify", list.Cards[0].QR)
	id, _ := cards.ParseHealthID(hid)
	if !strings.HasPrefix(v, "valid") || !strings.Contains(v, id.String()) || !strings.Contains(v, "Sushila Devi") || !strings.Contains(v, "1961-04-12") {
		t.Errorf("verify:\n%s", v)
	}
	if got := e.ok(t, "cards", "qr", hid); strings.TrimSpace(got) != list.Cards[0].QR {
		t.Errorf("cards qr %q, want the listed QR", got)
	}
	e.ok(t, "cards", "reprint", id.String(), "--reason", "damaged")
	if table := e.ok(t, "cards", "list", hid); !strings.Contains(table, "revoked") || !strings.Contains(table, "damaged") || strings.Count(table, "\n") != 3 {
		t.Errorf("cards list after reprint:\n%s", table)
	}

	// The held card: once the name is corrected on the laptop and synced,
	// a reprint for the correction queues a printable version.
	e.withStore(t, func(s *store.Store) {
		ctx := context.Background()
		held, err := s.ValidCard(ctx, ids[1])
		if err != nil || held.Problem == "" {
			t.Fatalf("held card: %+v %v", held, err)
		}
		devices, err := s.ListDevices(ctx)
		if err != nil {
			t.Fatal(err)
		}
		fixed := schema.Resident{ID: ids[1], HouseholdID: household, Name: "Nguyen Thi Hoa", Sex: "F", Relation: "other",
			DOB: held.Card.DOB, DOBPrecision: held.Card.DOBPrecision}
		b := schema.Batch{BatchID: schema.NewID(), DeviceID: devices[0].ID, SchemaVersion: schema.SchemaVersion,
			Records: []schema.Record{{Kind: schema.KindResident, ID: ids[1], Version: 2, Data: mustJSON(t, fixed)}}}
		if res, err := s.ApplyBatch(ctx, devices[0].ID, b, 0); err != nil || res.Results[0].Status != schema.StatusAccepted {
			t.Fatalf("correction: %+v %v", res, err)
		}
		if _, err := s.MatchAll(ctx); err != nil {
			t.Fatal(err)
		}
	})
	e.ok(t, "cards", "reprint", ids[1], "--reason", "corrected")
	r = e.run(t, "", "cards", "print", "--centre", "DL-NW", "--out", out)
	if r.code != 0 || !strings.Contains(r.out, "2 cards") || strings.Contains(r.err, "HELD") {
		t.Errorf("print after the correction: %+v; want the corrected card and the reprint, nothing held", r)
	}

	// verify: invalid is exit 1 with the reason on standard output, and
	// several codes from standard input are checked one by one.
	r = e.run(t, "", "verify", "hello")
	if r.code != 1 || !strings.HasPrefix(r.out, "invalid: not_base45: ") || !strings.Contains(r.err, "not valid") {
		t.Errorf("verify garbage: %+v", r)
	}
	r = e.run(t, list.Cards[0].QR+"\nHELLO\n", "verify", "-")
	if r.code != 1 || !strings.Contains(r.out, "code 1 of 2\nvalid") || !strings.Contains(r.out, "code 2 of 2\ninvalid: ") || !strings.Contains(r.err, "1 of 2 codes") {
		t.Errorf("verify - with one good and one bad code: %+v", r)
	}

	// The exported key document is public keys only, and enough to verify.
	doc := filepath.Join(e.dir, "keys.json")
	e.ok(t, "keys", "export", "--out", doc)
	b, err := os.ReadFile(doc)
	if err != nil || strings.Contains(string(b), "PRIVATE") || strings.Contains(string(b), `"d"`) {
		t.Fatalf("exported keys: %v\n%s", err, b)
	}
	e.env["SYNCSERVER_DB"] = filepath.Join(e.dir, "elsewhere.db") // a verifier with no database
	if r := e.run(t, "", "verify", "--keys", doc, list.Cards[0].QR); r.code != 0 {
		t.Errorf("verify --keys with no database: %+v", r)
	}
	if r := e.run(t, "", "verify", list.Cards[0].QR); r.code != 2 || !strings.Contains(r.err, "--keys") {
		t.Errorf("verify with neither database nor --keys: %+v", r)
	}
	if _, err := os.Stat(e.env["SYNCSERVER_DB"]); err == nil {
		t.Error("verify made a database where there was none")
	}
}

func TestCardsUsageErrors(t *testing.T) {
	e := newCmdEnv(t)
	for _, args := range [][]string{
		{"cards"},
		{"cards", "print", "--out", "x.pdf"},
		{"cards", "print", "--centre", "DL-NW"},
		{"cards", "print", "--centre", "DL-NW", "--job", "1", "--out", "x.pdf"},
		{"cards", "print", "--job", "1", "--limit", "5", "--out", "x.pdf"},
		{"cards", "print", "--job", "first", "--out", "x.pdf"},
		{"cards", "print", "--centre", "DL-NW", "--limit", "0", "--out", "x.pdf"},
		{"cards", "confirm"},
		{"cards", "confirm", "one"},
		{"cards", "reprint", "12-3456-7890-1234"},
		{"cards", "reprint", "12-3456-7890-1234", "--reason", "stolen"},
		{"cards", "revoke", "C123"},
		{"cards", "pdf", "12-3456-7890-1234"},
		{"keys", "retire"},
		{"verify"},
		{"verify", "TEXT", "--image", "card.png"},
		{"verify", "-"},
	} {
		r := e.run(t, "", args...)
		if r.code != 2 || !strings.HasPrefix(r.err, "error: ") {
			t.Errorf("syncserver %s: exit %d, stderr %q; want exit 2", strings.Join(args, " "), r.code, r.err)
		}
	}
}
