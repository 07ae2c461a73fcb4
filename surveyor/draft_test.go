package surveyor_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/doorstep-health/doorstep/internal/sqlitedb"
	"github.com/doorstep-health/doorstep/schema"
	"github.com/doorstep-health/doorstep/surveyor"
	"github.com/doorstep-health/doorstep/surveyor/surveytest"
)

// wantCode fails unless err is a *schema.Error with code, field and rule.
func wantCode(t *testing.T, err error, code, field, rule string) {
	t.Helper()
	var se *schema.Error
	if !errors.As(err, &se) {
		t.Fatalf("error = %v, want a schema.Error %s %s %s", err, code, field, rule)
	}
	if se.Code != code || se.Field != field || se.Rule != rule {
		t.Fatalf("error = %+v, want %s %s %s", se, code, field, rule)
	}
}

func draftIDs(t *testing.T, st *surveyor.Store) []string {
	t.Helper()
	ds, err := st.Drafts(context.Background())
	if err != nil {
		t.Fatalf("drafts: %v", err)
	}
	ids := []string{}
	for _, d := range ds {
		ids = append(ids, d.ID)
	}
	return ids
}

func TestDrafts(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	st := mustOpen(t, dir)

	if ids := draftIDs(t, st); len(ids) != 0 {
		t.Fatalf("drafts of a new store = %v", ids)
	}
	steps := []struct {
		draft surveyor.Draft
		want  []string // ids, newest first, after the save
	}{
		{surveyor.Draft{ID: "d1", Form: `{"address":{"line1":"H.No. 5"}}`}, []string{"d1"}},
		{surveyor.Draft{ID: "d2", HouseholdID: "H0000001", Form: `{"members":[{"name":"Ram"}]}`}, []string{"d2", "d1"}},
		{surveyor.Draft{ID: "d3", Form: `{}`}, []string{"d3", "d2", "d1"}},
		// An upsert replaces the form and makes the draft the newest.
		{surveyor.Draft{ID: "d1", Form: `{"address":{"line1":"H.No. 5, Gali 2"},"members":[{"aadhaar":"XXXX XXXX 0124"}]}`}, []string{"d1", "d3", "d2"}},
	}
	saved := map[string]surveyor.Draft{}
	for i, s := range steps {
		if err := st.SaveDraft(ctx, s.draft); err != nil {
			t.Fatalf("step %d: save %s: %v", i, s.draft.ID, err)
		}
		saved[s.draft.ID] = s.draft
		if got := draftIDs(t, st); !slices.Equal(got, s.want) {
			t.Fatalf("step %d: drafts = %v, want %v", i, got, s.want)
		}
	}

	// Durable: a new process sees every draft as last saved.
	st.Close()
	st = mustOpen(t, dir)
	ds, err := st.Drafts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i, d := range ds {
		want := saved[d.ID]
		if d.Form != want.Form || d.HouseholdID != want.HouseholdID || d.UpdatedAt.IsZero() {
			t.Errorf("draft %s = %+v, want %+v", d.ID, d, want)
		}
		if i > 0 && d.UpdatedAt.After(ds[i-1].UpdatedAt) {
			t.Errorf("draft %s updated %v after the one listed before it (%v)", d.ID, d.UpdatedAt, ds[i-1].UpdatedAt)
		}
		one, err := st.Draft(ctx, d.ID)
		if err != nil || one != d {
			t.Errorf("Draft(%s) = %+v, %v; want %+v", d.ID, one, err, d)
		}
	}

	if _, err := st.Draft(ctx, "nope"); schema.ErrorCode(err) != schema.ENOTFOUND {
		t.Errorf("Draft(nope) error = %v, want not_found", err)
	}
	for _, id := range []string{"d2", "d2", "never-saved"} {
		if err := st.DeleteDraft(ctx, id); err != nil {
			t.Errorf("DeleteDraft(%s) = %v", id, err)
		}
	}
	if got := draftIDs(t, st); !slices.Equal(got, []string{"d1", "d3"}) {
		t.Errorf("drafts after delete = %v", got)
	}
	if _, err := st.Draft(ctx, "d2"); schema.ErrorCode(err) != schema.ENOTFOUND {
		t.Errorf("deleted draft: %v, want not_found", err)
	}
}

// phone91 is twelve digits that are both a valid Aadhaar number and 91
// with a mobile number: what the phone field may hold.
func phone91(t *testing.T) string {
	t.Helper()
	d, ok := schema.VerhoeffDigit("91981234567")
	n := "91981234567" + string(d)
	if !ok || !schema.AadhaarValid(n) {
		t.Fatalf("%s is not a valid Aadhaar number", n)
	}
	return n
}

func TestSaveDraftRefuses(t *testing.T) {
	ctx := context.Background()
	st := mustOpen(t, t.TempDir())
	p91 := phone91(t)
	spaced := aadhaar1[:4] + " " + aadhaar1[4:8] + " " + aadhaar1[8:]
	tests := []struct {
		name        string
		draft       surveyor.Draft
		field, rule string // "" if accepted
	}{
		{"no id", surveyor.Draft{Form: `{}`}, "id", "required"},
		{"blank id", surveyor.Draft{ID: "  ", Form: `{}`}, "id", "required"},
		{"id too long", surveyor.Draft{ID: strings.Repeat("x", 65), Form: `{}`}, "id", "max_length"},
		{"id of 64", surveyor.Draft{ID: strings.Repeat("x", 64), Form: `{}`}, "", ""},
		{"household id too long", surveyor.Draft{ID: "d", HouseholdID: strings.Repeat("h", 65), Form: `{}`}, "household_id", "max_length"},
		{"not JSON", surveyor.Draft{ID: "d", Form: `{"name": "Ram"`}, "form", "json"},
		{"empty form", surveyor.Draft{ID: "d", Form: ``}, "form", "json"},
		{"form too large", surveyor.Draft{ID: "d", Form: `"` + strings.Repeat("a", 256<<10) + `"`}, "form", "max_size"},
		{"form of 256 KiB", surveyor.Draft{ID: "d", Form: `"` + strings.Repeat("a", 256<<10-2) + `"`}, "", ""},

		{"aadhaar as typed", surveyor.Draft{ID: "d", Form: `{"members":[{"name":"Ram","aadhaar":"` + aadhaar1 + `"}]}`}, "form", "no_aadhaar"},
		{"aadhaar grouped by spaces", surveyor.Draft{ID: "d", Form: `{"members":[{"aadhaar":"` + spaced + `"}]}`}, "form", "no_aadhaar"},
		{"aadhaar grouped by hyphens", surveyor.Draft{ID: "d", Form: `{"a":"` + strings.ReplaceAll(spaced, " ", "-") + `"}`}, "form", "no_aadhaar"},
		{"aadhaar as a JSON number", surveyor.Draft{ID: "d", Form: `{"x":[1,` + aadhaar1 + `]}`}, "form", "no_aadhaar"},
		{"aadhaar in free text", surveyor.Draft{ID: "d", Form: `{"note":"UID ` + aadhaar1 + `, seen"}`}, "form", "no_aadhaar"},
		{"aadhaar as a key", surveyor.Draft{ID: "d", Form: `{"` + aadhaar1 + `":true}`}, "form", "no_aadhaar"},
		{"aadhaar-like 91 number outside a phone field", surveyor.Draft{ID: "d", Form: `{"note":"` + p91 + `"}`}, "form", "no_aadhaar"},

		{"masked aadhaar", surveyor.Draft{ID: "d", Form: `{"members":[{"aadhaar":"XXXX XXXX ` + aadhaar1[8:] + `"}]}`}, "", ""},
		{"wrong check digit", surveyor.Draft{ID: "d", Form: `{"aadhaar":"234567890123"}`}, "", ""},
		{"eleven digits typed so far", surveyor.Draft{ID: "d", Form: `{"aadhaar":"` + aadhaar1[:11] + `"}`}, "", ""},
		{"thirteen digits", surveyor.Draft{ID: "d", Form: `{"x":"` + aadhaar1 + `5"}`}, "", ""},
		{"phone with +91", surveyor.Draft{ID: "d", Form: `{"phone":"+` + p91 + `","note":"+` + p91 + `"}`}, "", ""},
		{"phone field with 91", surveyor.Draft{ID: "d", Form: `{"members":[{"phone":"` + p91 + `","mobile_2":"` + p91[:2] + " " + p91[2:] + `"}]}`}, "", ""},
		{"date and pincode", surveyor.Draft{ID: "d", Form: `{"dob":"1980-05-12","pincode":"110085","gps":{"lat":28.7075,"lon":77.1145}}`}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := st.SaveDraft(ctx, tt.draft)
			if tt.field == "" {
				if err != nil {
					t.Fatalf("SaveDraft = %v, want it kept", err)
				}
				if err := st.DeleteDraft(ctx, tt.draft.ID); err != nil {
					t.Fatal(err)
				}
				return
			}
			wantCode(t, err, schema.EINVALID, tt.field, tt.rule)
			if ids := draftIDs(t, st); len(ids) != 0 {
				t.Errorf("refused draft stored: %v", ids)
			}
		})
	}
}

// enrol saves h and returns it as stored.
func enrol(t *testing.T, st *surveyor.Store, h *schema.Household) *schema.Household {
	t.Helper()
	if err := st.SaveHousehold(context.Background(), h); err != nil {
		t.Fatalf("save household: %v", err)
	}
	return h
}

func household(locality, pincode string, members ...schema.Resident) *schema.Household {
	h := &schema.Household{
		Area:    "DL-NW-W05",
		Address: schema.Address{Line1: "House 1", Locality: locality, City: "Delhi", Pincode: pincode},
		Outcome: schema.OutcomeEnrolled,
		Consent: schema.Consent{Given: true},
		Members: members,
	}
	for i := range h.Members {
		if i == 0 {
			h.Members[i].Relation = "head"
		} else if h.Members[i].Relation == "" {
			h.Members[i].Relation = "other"
		}
		if h.Members[i].Sex == "" {
			h.Members[i].Sex = "M"
		}
	}
	return h
}

type found struct {
	member       int
	resident     string // name of the resident found
	reason       string
	householdOf  *schema.Household
	addressStart string
}

func lookalikes(t *testing.T, st *surveyor.Store, h *schema.Household) []surveyor.Lookalike {
	t.Helper()
	got, err := st.Lookalikes(context.Background(), h)
	if err != nil {
		t.Fatalf("lookalikes: %v", err)
	}
	return got
}

func TestLookalikes(t *testing.T) {
	ctx := context.Background()
	st, _ := mustRegistered(t)
	ram := enrol(t, st, sample()) // Ram Kumar 1980 +919812345678 aadhaar1, Sita Devi 1984, Mohan Kumar about 8
	other := enrol(t, st, household("Burari", "110084",
		schema.Resident{Name: "Geeta Sharma", Sex: "F", DOB: "1992-01-02", Phone: "9871111111"}))
	age8 := 8
	age40 := 40
	tests := []struct {
		name string
		h    *schema.Household
		want []found
	}{
		{"same aadhaar, nothing else alike", household("Okhla", "110025",
			schema.Resident{Name: "Suresh Yadav", DOB: "1970", Aadhaar: aadhaar1[:4] + "-" + aadhaar1[4:]}),
			[]found{{0, "Ram Kumar", surveyor.ReasonAadhaar, ram, "House 12, Gali 4, Rohini Sector 5"}}},
		{"same phone written another way", household("Okhla", "110025",
			schema.Resident{Name: "Pinki", DOB: "2001", Phone: "+91 98123-45678"}),
			[]found{{0, "Ram Kumar", surveyor.ReasonPhone, ram, ""}}},
		{"same name key and birth year, spelt otherwise", household("Okhla", "110025",
			schema.Resident{Name: "Mahesh Gupta", DOB: "1960"},
			schema.Resident{Name: "Smt. Seeta Devi", Sex: "F", DOB: "1984-07-01", Relation: "spouse"},
			schema.Resident{Name: "Mohan Kumar", Age: &age8, Relation: "son"}),
			[]found{{1, "Sita Devi", surveyor.ReasonNameAndBirthYear, ram, ""}, {2, "Mohan Kumar", surveyor.ReasonNameAndBirthYear, ram, ""}}},
		{"same name, another birth year", household("Okhla", "110025",
			schema.Resident{Name: "Sita Devi", Sex: "F", DOB: "1990"}), nil},
		{"name and phone and aadhaar: the strongest only", household("Okhla", "110025",
			schema.Resident{Name: "Ram Kumar", DOB: "1980", Phone: "09812345678", Aadhaar: aadhaar1}),
			[]found{{0, "Ram Kumar", surveyor.ReasonAadhaar, ram, ""}}},
		{"phone shared with two households", household("Okhla", "110025",
			schema.Resident{Name: "Ravi", Age: &age40, Phone: "9871111111"},
			schema.Resident{Name: "Asha", Sex: "F", Phone: "98123 45678"}),
			[]found{{0, "Geeta Sharma", surveyor.ReasonPhone, other, ""}, {1, "Ram Kumar", surveyor.ReasonPhone, ram, ""}}},
		{"nobody alike", household("Okhla", "110025",
			schema.Resident{Name: "Imran Khan", DOB: "1975", Phone: "9999999999"}), nil},
		{"half-typed member", household("", "", schema.Resident{Name: "Sit"}, schema.Resident{}), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := fmt.Sprintf("%+v", *tt.h)
			got := lookalikes(t, st, tt.h)
			if after := fmt.Sprintf("%+v", *tt.h); after != before {
				t.Errorf("Lookalikes changed its argument:\n%s\n%s", before, after)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("lookalikes = %+v, want %d", got, len(tt.want))
			}
			for i, w := range tt.want {
				g := got[i]
				var res *schema.Resident
				for j := range w.householdOf.Members {
					if w.householdOf.Members[j].Name == w.resident {
						res = &w.householdOf.Members[j]
					}
				}
				if g.Member != w.member || g.Reason != w.reason || res == nil || g.ResidentID != res.ID ||
					g.HouseholdID != w.householdOf.ID || g.Name != res.Name || g.DOB != res.DOB {
					t.Errorf("lookalike %d = %+v, want member %d like %s (%s)", i, g, w.member, w.resident, w.reason)
				}
				if !strings.HasPrefix(g.Address, w.addressStart) {
					t.Errorf("lookalike %d address %q, want it to start %q", i, g.Address, w.addressStart)
				}
			}
		})
	}

	// Editing a household: its own members are not lookalikes of themselves,
	// but others still are.
	v, err := st.Household(ctx, ram.ID)
	if err != nil {
		t.Fatal(err)
	}
	edit := v.Schema()
	edit.Members = append(edit.Members, schema.Resident{Name: "Geeta Sharma", Sex: "F", DOB: "1992", Relation: "other"})
	got := lookalikes(t, st, edit)
	if len(got) != 1 || got[0].Member != 3 || got[0].HouseholdID != other.ID {
		t.Errorf("lookalikes of an edit = %+v, want only Geeta Sharma of %s", got, other.ID)
	}
	// The same people in a new household are lookalikes of the saved ones.
	copied := v.Schema()
	copied.ID = ""
	for i := range copied.Members {
		copied.Members[i].ID = ""
	}
	if got := lookalikes(t, st, copied); len(got) != 3 {
		t.Errorf("lookalikes of a copy = %+v, want its 3 members", got)
	}

	// A removed member is nobody's lookalike; a changed phone is found
	// under the new one only.
	edit = v.Schema()
	edit.Members = edit.Members[:2]
	edit.Members[0].Phone = "9000000001"
	if _, err := st.UpdateHousehold(ctx, edit); err != nil {
		t.Fatal(err)
	}
	got = lookalikes(t, st, household("Okhla", "110025",
		schema.Resident{Name: "Mohan Kumar", Age: &age8}, schema.Resident{Name: "X", Phone: "9812345678"}, schema.Resident{Name: "Y", Phone: "9000000001"}))
	if len(got) != 1 || got[0].Member != 2 || got[0].Name != "Ram Kumar" || got[0].Reason != surveyor.ReasonPhone {
		t.Errorf("lookalikes after the edit = %+v, want only Ram Kumar by his new phone", got)
	}
}

func TestLookalikesAtMostFive(t *testing.T) {
	st, _ := mustRegistered(t)
	for i := range 7 {
		enrol(t, st, household("Burari", "110084", schema.Resident{Name: fmt.Sprintf("Person %c", 'A'+i), DOB: "1990", Phone: "9822222222"}))
	}
	got := lookalikes(t, st, household("Okhla", "110025",
		schema.Resident{Name: "Someone", Phone: "9822222222"}, schema.Resident{Name: "Else", Phone: "9822222222"}))
	per := map[int]int{}
	for _, g := range got {
		per[g.Member]++
	}
	if per[0] != surveyor.MaxLookalikes || per[1] != surveyor.MaxLookalikes || len(got) != 2*surveyor.MaxLookalikes {
		t.Errorf("lookalikes per member = %v, want %d each", per, surveyor.MaxLookalikes)
	}
}

// A store whose residents were saved before lookup keys existed keys them
// the first time it is asked.
func TestLookalikesKeysOlderResidents(t *testing.T) {
	ctx := context.Background()
	st, dir := mustRegistered(t)
	ram := enrol(t, st, sample())
	st.Close()

	db, err := sqlitedb.Open(ctx, filepath.Join(dir, surveyor.DBFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, q := range []string{`DELETE FROM resident_keys`, `DELETE FROM settings WHERE key = 'resident_keys'`} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()

	st = mustOpen(t, dir)
	got := lookalikes(t, st, household("Okhla", "110025", schema.Resident{Name: "Other", Aadhaar: aadhaar1}))
	if len(got) != 1 || got[0].ResidentID != ram.Members[0].ID || got[0].Reason != surveyor.ReasonAadhaar {
		t.Errorf("lookalikes = %+v, want Ram Kumar by Aadhaar", got)
	}
}

func TestLookalikesNeverStoreTheNumber(t *testing.T) {
	st, dir := mustRegistered(t)
	enrol(t, st, sample())
	d, _ := schema.VerhoeffDigit("98765432101")
	number := "98765432101" + string(d)
	h := household("Okhla", "110025", schema.Resident{Name: "Other", Aadhaar: number})
	lookalikes(t, st, h)
	if h.Members[0].Aadhaar != number || h.Members[0].AadhaarHash != "" || h.ID != "" {
		t.Errorf("Lookalikes changed the caller's household: %+v", h)
	}
	st.Close()
	for _, name := range []string{surveyor.DBFile, surveyor.DBFile + "-wal"} {
		raw, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Fatal(err)
		}
		if strings.Contains(string(raw), number) || strings.Contains(string(raw), schema.AadhaarHash(testKey, number)) {
			t.Errorf("%s holds the looked-up number or its hash", name)
		}
	}
}

func TestLookalikesNotRegistered(t *testing.T) {
	st := mustOpen(t, t.TempDir())
	_, err := st.Lookalikes(context.Background(), sample())
	if schema.ErrorCode(err) != schema.ENOTREGISTERD {
		t.Errorf("error = %v, want not_registered", err)
	}
}

func TestPlaces(t *testing.T) {
	ctx := context.Background()
	st, _ := mustRegistered(t)
	for _, a := range []struct{ locality, pincode string }{
		{"Rohini Sector 16", "110089"},
		{"Rohini Sector 5", "110085"},
		{"Rohini Sector 5", "110085"},
		{"Burari", "110084"}, // in the gazetteer too: offered once
		{"Sant Nagar", "110084"},
	} {
		enrol(t, st, household(a.locality, a.pincode, schema.Resident{Name: "Ram Lal", DOB: "1970"}))
	}
	tests := []struct {
		prefix string
		limit  int
		want   []string // "locality pincode"
		n      int      // when want is nil: how many
	}{
		{"rohini", 0, []string{"Rohini Sector 5 110085", "Rohini Sector 16 110089", "Rohini Sector 7 110085"}, 0},
		{"  ROHINI   sector 1", 0, []string{"Rohini Sector 16 110089"}, 0},
		{"bur", 0, []string{"Burari 110084"}, 0},
		{"Lakshmi", 0, []string{"Laxmi Nagar 110092"}, 0}, // another spelling, offered by its name
		{"11008", 0, []string{"Rohini Sector 5 110085", "Burari 110084", "Rohini Sector 16 110089", "Sant Nagar 110084",
			"Mangolpuri 110083", "Rohini Sector 7 110085", "Sultanpuri 110086", "Shalimar Bagh 110088"}, 0},
		{"110084", 0, []string{"Burari 110084", "Sant Nagar 110084"}, 0},
		{"110085", 1, []string{"Rohini Sector 5 110085"}, 0},
		{"zzz", 0, []string{}, 0},
		{"", 0, nil, surveyor.DefaultPlaces},
		{"", 3, []string{"Rohini Sector 5 110085", "Burari 110084", "Rohini Sector 16 110089"}, 0},
		{"", 1000, nil, surveyor.MaxPlaces},
	}
	for _, tt := range tests {
		got, err := st.Places(ctx, tt.prefix, tt.limit)
		if err != nil {
			t.Fatalf("Places(%q): %v", tt.prefix, err)
		}
		names := []string{}
		for _, p := range got {
			names = append(names, p.Locality+" "+p.Pincode)
			if p.City == "" {
				t.Errorf("Places(%q): %+v has no city", tt.prefix, p)
			}
		}
		switch {
		case tt.want == nil && len(got) != tt.n:
			t.Errorf("Places(%q, %d) = %d places, want %d", tt.prefix, tt.limit, len(got), tt.n)
		case tt.want != nil && !slices.Equal(names, tt.want):
			t.Errorf("Places(%q, %d) = %q, want %q", tt.prefix, tt.limit, names, tt.want)
		}
	}
}

// The form's handlers call Lookalikes and SaveHousehold concurrently, with
// names outside ASCII among them; a name written with diacritics is found
// by its plain spelling.
func TestLookalikesConcurrent(t *testing.T) {
	st, _ := mustRegistered(t)
	enrol(t, st, household("Okhla", "110025", schema.Resident{Name: "Lakṣmī Śarmā", Sex: "F", DOB: "1970"}))
	errs := make(chan error, 6)
	for i := range 6 {
		go func() {
			var err error
			for range 50 {
				if i%3 != 0 {
					_, err = st.Lookalikes(context.Background(), household("Okhla", "110025", schema.Resident{Name: "Lakshmi Sharma", DOB: "1970"}))
				} else {
					err = st.SaveHousehold(context.Background(), household("Okhla", "110025", schema.Resident{Name: "Gītā Dēvī", Sex: "F", DOB: "1980"}))
				}
				if err != nil {
					break
				}
			}
			errs <- err
		}()
	}
	for range 6 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	got := lookalikes(t, st, household("Okhla", "110025", schema.Resident{Name: "Laxmi Sharma", DOB: "1970"}))
	if len(got) != 1 || got[0].Name != "Lakṣmī Śarmā" || got[0].Reason != surveyor.ReasonNameAndBirthYear {
		t.Errorf("lookalikes of Laxmi Sharma = %+v, want Lakṣmī Śarmā by name", got)
	}
}

// Imported households are keyed as they are written, like saved ones.
func TestLookalikesOfImported(t *testing.T) {
	ctx := context.Background()
	st, dir := mustRegistered(t)
	hs := surveytest.Households(50, 3)
	var buf bytes.Buffer
	if _, err := surveytest.WriteJSONL(&buf, hs); err != nil {
		t.Fatal(err)
	}
	if rep, err := st.Import(ctx, &buf, nil); err != nil || rep.Imported != len(hs) {
		t.Fatalf("import: %+v, %v", rep, err)
	}
	db, err := sqlitedb.OpenReader(ctx, filepath.Join(dir, surveyor.DBFile), 1)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if n := countRows(t, db, `SELECT COUNT(DISTINCT resident_id) FROM resident_keys`); n != countRows(t, db, `SELECT COUNT(*) FROM residents`) {
		t.Errorf("%d residents keyed after import, want every one", n)
	}
	var number, name string
	for _, h := range hs {
		for _, m := range h.Members {
			if m.Aadhaar != "" && number == "" {
				number, name = m.Aadhaar, m.Name
			}
		}
	}
	got := lookalikes(t, st, household("Okhla", "110025", schema.Resident{Name: "Someone Else", Aadhaar: number}))
	if len(got) != 1 || got[0].Name != name || got[0].Reason != surveyor.ReasonAadhaar {
		t.Errorf("lookalikes of %s's number = %+v", name, got)
	}
}
