package surveyor_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/doorstep-health/doorstep/internal/sqlitedb"
	"github.com/doorstep-health/doorstep/schema"
	"github.com/doorstep-health/doorstep/surveyor"
	"github.com/doorstep-health/doorstep/surveyor/surveytest"
)

var testKey = []byte("0123456789abcdef0123456789abcdef")

// mustOpen opens a store in dir, closed with the test.
func mustOpen(tb testing.TB, dir string) *surveyor.Store {
	tb.Helper()
	st, err := surveyor.Open(context.Background(), dir)
	if err != nil {
		tb.Fatalf("open store: %v", err)
	}
	tb.Cleanup(func() { st.Close() })
	return st
}

// mustRegistered opens a store in a new directory as if `surveyor init`
// had run against a server with testKey.
func mustRegistered(tb testing.TB) (*surveyor.Store, string) {
	tb.Helper()
	dir := tb.TempDir()
	st := mustOpen(tb, dir)
	err := st.SaveRegistration(context.Background(), "http://127.0.0.1:1", schema.Registered{
		DeviceID: "DEV1", Name: "laptop", Token: "tok", AadhaarKey: base64.StdEncoding.EncodeToString(testKey)})
	if err != nil {
		tb.Fatalf("register: %v", err)
	}
	return st, dir
}

const aadhaar1 = "234567890124" // valid check digit, checked in TestSampleIsValid

func sample() *schema.Household {
	age := 8
	return &schema.Household{
		Area:    "dl-nw-w05",
		Address: schema.Address{Line1: "House 12,  Gali 4", Locality: "Rohini Sector 5", City: "Delhi", Pincode: "110085"},
		Outcome: "enrolled",
		Consent: schema.Consent{Given: true},
		Members: []schema.Resident{
			{Name: "Ram Kumar", Sex: "M", DOB: "1980-05-12", Relation: "head", Phone: "098123 45678", Aadhaar: aadhaar1},
			{Name: "Sita Devi", Sex: "F", DOB: "1984", Relation: "spouse", SpouseName: "Ram Kumar"},
			{Name: "Mohan Kumar", Sex: "m", Age: &age, Relation: "Son", FatherName: "Ram Kumar"},
		},
	}
}

func TestSampleIsValid(t *testing.T) {
	if !schema.AadhaarValid(aadhaar1) {
		t.Fatalf("aadhaar1 %s does not pass the check digit", aadhaar1)
	}
}

func TestSaveHouseholdDurable(t *testing.T) {
	ctx := context.Background()
	st, dir := mustRegistered(t)
	h := sample()
	if err := st.SaveHousehold(ctx, h); err != nil {
		t.Fatalf("save: %v", err)
	}
	st.Close()

	st = mustOpen(t, dir)
	v, err := st.Household(ctx, h.ID)
	if err != nil {
		t.Fatalf("household after reopen: %v", err)
	}
	if v.Area != "DL-NW-W05" || v.Address.Line1 != "House 12, Gali 4" || v.SyncStatus != surveyor.StatusPending || v.Version != 1 {
		t.Errorf("household = %+v", v)
	}
	if len(v.Members) != 3 {
		t.Fatalf("members = %d, want 3", len(v.Members))
	}
	m0, m2 := v.Members[0], v.Members[2]
	if m0.Phone != "+919812345678" || m0.Aadhaar != "" || m0.AadhaarLast4 != "0124" || m0.AadhaarHash != schema.AadhaarHash(testKey, aadhaar1) {
		t.Errorf("member 0 = %+v", m0.Resident)
	}
	if m2.DOBPrecision != schema.PrecisionEstimated || m2.Relation != "son" || m2.Sex != "M" {
		t.Errorf("member 2 = %+v", m2.Resident)
	}
	// A member's id finds its household too.
	if v2, err := st.Household(ctx, m2.ID); err != nil || v2.ID != h.ID {
		t.Errorf("household by member id = %v, %v", v2, err)
	}

	stat, err := st.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if stat.Households != 1 || stat.Residents != 3 || stat.Pending != 4 || stat.Synced != 0 || stat.LastSync != nil {
		t.Errorf("status = %+v", stat)
	}

	recs, err := st.PendingRecords(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 4 || recs[0].Kind != schema.KindHousehold || recs[0].ID != h.ID {
		t.Fatalf("pending = %+v", recs)
	}
	var hh schema.Household
	json.Unmarshal(recs[0].Data, &hh)
	if len(hh.Members) != 0 || hh.ID != h.ID {
		t.Errorf("household record carries members or wrong id: %s", recs[0].Data)
	}
	for i, rec := range recs[1:] {
		var r schema.Resident
		json.Unmarshal(rec.Data, &r)
		if rec.Kind != schema.KindResident || rec.Version != 1 || r.HouseholdID != h.ID || r.Aadhaar != "" || r.ID != v.Members[i].ID {
			t.Errorf("record %d = %+v / %s", i+1, rec, rec.Data)
		}
		if err := r.ValidateRecord(time.Now()); err != nil {
			t.Errorf("record %d fails the server's rule: %v", i+1, err)
		}
	}
}

func TestSaveHouseholdInvalidWritesNothing(t *testing.T) {
	tests := []struct {
		name   string
		change func(h *schema.Household)
		field  string
		rule   string
	}{
		{"bad member dob", func(h *schema.Household) { h.Members[2].Age = nil; h.Members[2].DOB = "2999-01-01" }, "members[2].dob", "not_future"},
		{"pincode", func(h *schema.Household) { h.Address.Pincode = "12345" }, "address.pincode", "pincode_format"},
		{"sex", func(h *schema.Household) { h.Members[1].Sex = "X" }, "members[1].sex", "one_of"},
		{"aadhaar checksum", func(h *schema.Household) { h.Members[0].Aadhaar = "234567890123" }, "members[0].aadhaar", "aadhaar_checksum"},
		{"no consent", func(h *schema.Household) { h.Consent.Given = false }, "consent.given", "consent_required"},
		{"two heads", func(h *schema.Household) { h.Members[1].Relation = "head" }, "members", "one_head"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			st, _ := mustRegistered(t)
			h := sample()
			tt.change(h)
			err := st.SaveHousehold(ctx, h)
			var ve schema.ValidationErrors
			if !errors.As(err, &ve) {
				t.Fatalf("err = %v, want validation errors", err)
			}
			found := false
			for _, e := range ve {
				if e.Field == tt.field && e.Rule == tt.rule {
					found = true
				}
			}
			if !found {
				t.Errorf("errors %v lack %s (%s)", ve, tt.field, tt.rule)
			}
			stat, _ := st.Status(ctx)
			recs, _ := st.PendingRecords(ctx, 10)
			if stat.Households != 0 || stat.Residents != 0 || len(recs) != 0 {
				t.Errorf("invalid household wrote something: %+v, %d queued", stat, len(recs))
			}
		})
	}
}

func TestSaveHouseholdConflicts(t *testing.T) {
	ctx := context.Background()
	st, _ := mustRegistered(t)
	h := sample()
	if err := st.SaveHousehold(ctx, h); err != nil {
		t.Fatal(err)
	}
	again := sample()
	again.ID = h.ID
	if err := st.SaveHousehold(ctx, again); schema.ErrorCode(err) != schema.ECONFLICT {
		t.Errorf("same household id twice: %v", err)
	}
	other := sample()
	other.Members[1].ID = h.Members[0].ID
	err := st.SaveHousehold(ctx, other)
	var se *schema.Error
	if !errors.As(err, &se) || se.Field != "members[1].id" || se.Code != schema.ECONFLICT {
		t.Errorf("member id of another household: %v", err)
	}
}

func TestNotRegistered(t *testing.T) {
	ctx := context.Background()
	st := mustOpen(t, t.TempDir())
	if err := st.SaveHousehold(ctx, sample()); schema.ErrorCode(err) != schema.ENOTREGISTERD {
		t.Errorf("save before init: %v", err)
	}
	_, err := st.Import(ctx, strings.NewReader("{}\n"), nil)
	if schema.ErrorCode(err) != schema.ENOTREGISTERD || !strings.Contains(err.Error(), "surveyor init") {
		t.Errorf("import before init: %v", err)
	}
}

func TestOpenFileModes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	st := mustOpen(t, dir)
	_ = st
	for _, c := range []struct {
		path string
		mode os.FileMode
	}{{dir, 0o700}, {filepath.Join(dir, surveyor.DBFile), 0o600}} {
		fi, err := os.Stat(c.path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != c.mode {
			t.Errorf("%s mode %v, want %v", c.path, fi.Mode().Perm(), c.mode)
		}
	}
}

// TestAadhaarNeverInClear greps the raw database and WAL bytes for every
// Aadhaar number saved or imported.
func TestAadhaarNeverInClear(t *testing.T) {
	ctx := context.Background()
	st, dir := mustRegistered(t)
	numbers := []string{aadhaar1}
	if err := st.SaveHousehold(ctx, sample()); err != nil {
		t.Fatal(err)
	}
	hs := surveytest.Households(200, 7)
	for _, h := range hs {
		for _, m := range h.Members {
			if m.Aadhaar != "" {
				numbers = append(numbers, m.Aadhaar)
			}
		}
	}
	var buf bytes.Buffer
	if _, err := surveytest.WriteJSONL(&buf, hs); err != nil {
		t.Fatal(err)
	}
	rep, err := st.Import(ctx, &buf, nil)
	if err != nil || rep.Imported != 200 {
		t.Fatalf("import: %+v, %v", rep, err)
	}
	if len(numbers) < 20 {
		t.Fatalf("only %d Aadhaar numbers generated", len(numbers))
	}

	grep := func(when string) {
		t.Helper()
		for _, name := range []string{surveyor.DBFile, surveyor.DBFile + "-wal"} {
			raw, err := os.ReadFile(filepath.Join(dir, name))
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range numbers {
				if bytes.Contains(raw, []byte(n)) {
					t.Errorf("%s: Aadhaar %s found in clear in %s", when, n, name)
				}
			}
		}
	}
	grep("open")

	// Hash and last four are what is kept, for every member that had one.
	hashes := 0
	db, err := sqlitedb.OpenReader(ctx, filepath.Join(dir, surveyor.DBFile), 1)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, `SELECT data FROM residents`)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for _, n := range numbers {
		want[schema.AadhaarHash(testKey, n)] = n[8:]
	}
	for rows.Next() {
		var data string
		rows.Scan(&data)
		var r schema.Resident
		json.Unmarshal([]byte(data), &r)
		if r.AadhaarHash != "" {
			hashes++
			if last4, ok := want[r.AadhaarHash]; !ok || last4 != r.AadhaarLast4 {
				t.Errorf("resident %s: hash %s last4 %s match no saved number", r.ID, r.AadhaarHash, r.AadhaarLast4)
			}
		}
	}
	rows.Close()
	if hashes != len(numbers) {
		t.Errorf("%d residents carry a hash, want %d", hashes, len(numbers))
	}
	db.Close()
	st.Close()
	grep("closed")
}

func countRows(t *testing.T, db *sql.DB, query string) int {
	t.Helper()
	var n int
	if err := db.QueryRow(query).Scan(&n); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return n
}
