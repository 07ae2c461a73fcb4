package store_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/doorstep-health/doorstep/internal/testdb"
	"github.com/doorstep-health/doorstep/schema"
	"github.com/doorstep-health/doorstep/syncserver/store"
	"github.com/doorstep-health/doorstep/syncserver/store/storetest"
)

// MustOpen opens a fresh store on this run's engine (see testdb) and
// closes it when the test ends.
func MustOpen(tb testing.TB, opts ...store.Option) *store.Store {
	tb.Helper()
	return storetest.Open(tb, opts...)
}

// mustDevice adds and registers a device, returning its id and token.
func mustDevice(tb testing.TB, s *store.Store, name string) (id, token string) {
	tb.Helper()
	ctx := context.Background()
	id, code, err := s.AddDevice(ctx, name, "DL-NW-W05")
	if err != nil {
		tb.Fatal(err)
	}
	reg, err := s.RegisterDevice(ctx, code, "laptop-"+name)
	if err != nil {
		tb.Fatal(err)
	}
	if reg.DeviceID != id {
		tb.Fatalf("registered device %s, want %s", reg.DeviceID, id)
	}
	return id, reg.Token
}

func household(id string, version int64, edit func(*schema.Household)) schema.Record {
	h := schema.Household{
		ID:        id,
		Area:      "DL-NW-W05",
		Address:   schema.Address{Line1: "H.No. 12, Gali 3", Locality: "Sector 7, Rohini", City: "Delhi", Pincode: "110085"},
		VisitedAt: "2025-11-27T10:30:00+05:30",
		Outcome:   schema.OutcomeEnrolled,
		Consent:   schema.Consent{Given: true, At: "2025-11-27T10:30:00+05:30"},
	}
	if edit != nil {
		edit(&h)
	}
	return schema.Record{Kind: schema.KindHousehold, ID: id, Version: version, Data: mustJSON(h)}
}

func resident(id, householdID string, version int64, edit func(*schema.Resident)) schema.Record {
	r := schema.Resident{
		ID:           id,
		HouseholdID:  householdID,
		Name:         "Ramesh Kumar",
		Sex:          "M",
		DOB:          "1978-04-12",
		DOBPrecision: schema.PrecisionDay,
		Relation:     "head",
		FatherName:   "Suresh Kumar",
		Phone:        "+919812345678",
		AadhaarHash:  strings.Repeat("ab", 32),
		AadhaarLast4: "4321",
	}
	if edit != nil {
		edit(&r)
	}
	return schema.Record{Kind: schema.KindResident, ID: id, Version: version, Data: mustJSON(r)}
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // test data only
	}
	return b
}

func batch(deviceID string, recs ...schema.Record) schema.Batch {
	return schema.Batch{BatchID: schema.NewID(), DeviceID: deviceID, SchemaVersion: schema.SchemaVersion, Records: recs}
}

func mustApply(tb testing.TB, s *store.Store, deviceID string, b schema.Batch) schema.BatchResult {
	tb.Helper()
	res, err := s.ApplyBatch(context.Background(), deviceID, b, 100)
	if err != nil {
		tb.Fatal(err)
	}
	if len(res.Results) != len(b.Records) {
		tb.Fatalf("%d results for %d records", len(res.Results), len(b.Records))
	}
	return res
}

func mustStats(tb testing.TB, s *store.Store) store.Stats {
	tb.Helper()
	st, err := s.Stats(context.Background())
	if err != nil {
		tb.Fatal(err)
	}
	return st
}

// want is one expected record result: status, and code and field when
// rejected.
type want struct{ status, code, field string }

func checkResults(tb testing.TB, res schema.BatchResult, wants ...want) {
	tb.Helper()
	for i, w := range wants {
		got := res.Results[i]
		if got.Status != w.status || got.Code != w.code || got.Field != w.field {
			tb.Errorf("record %d (%s %s): got %s/%s/%s (%s), want %s/%s/%s", i, got.Kind, got.ID,
				got.Status, got.Code, got.Field, got.Message, w.status, w.code, w.field)
		}
	}
}

var (
	accepted  = want{status: schema.StatusAccepted}
	duplicate = want{status: schema.StatusDuplicate}
	stale     = want{status: schema.StatusStale}
)

func rejected(code, field string) want { return want{schema.StatusRejected, code, field} }

func TestApplyBatchRecordOutcomes(t *testing.T) {
	s := MustOpen(t)
	dev, _ := mustDevice(t, s, "team-1")
	other, _ := mustDevice(t, s, "team-2")
	h1, r1, r2 := schema.NewID(), schema.NewID(), schema.NewID()
	mustApply(t, s, dev, batch(dev, household(h1, 1, nil), resident(r1, h1, 1, nil)))
	otherHH := schema.NewID()
	mustApply(t, s, other, batch(other, household(otherHH, 1, nil)))

	tests := []struct {
		name  string
		recs  []schema.Record
		wants []want
	}{
		{"same versions again are duplicates",
			[]schema.Record{household(h1, 1, nil), resident(r1, h1, 1, nil)},
			[]want{duplicate, duplicate}},
		{"higher version replaces",
			[]schema.Record{resident(r1, h1, 2, func(r *schema.Resident) { r.Name = "Ramesh K. Sharma" })},
			[]want{accepted}},
		{"lower version is stale",
			[]schema.Record{resident(r1, h1, 1, nil)},
			[]want{stale}},
		{"another device's record is forbidden",
			[]schema.Record{household(otherHH, 2, nil)},
			[]want{rejected(schema.EFORBIDDEN, "id")}},
		{"resident of an unknown household is not found",
			[]schema.Record{resident(r2, "NO-SUCH-HOUSEHOLD", 1, nil)},
			[]want{rejected(schema.ENOTFOUND, "household_id")}},
		{"household earlier in the batch counts",
			func() []schema.Record {
				h := schema.NewID()
				return []schema.Record{household(h, 1, nil), resident(schema.NewID(), h, 1, nil)}
			}(),
			[]want{accepted, accepted}},
		{"household rejected earlier in the batch does not count",
			func() []schema.Record {
				h := schema.NewID()
				return []schema.Record{
					household(h, 1, func(h *schema.Household) { h.Address.Pincode = "012345" }),
					resident(schema.NewID(), h, 1, nil),
				}
			}(),
			[]want{rejected(schema.EINVALID, "address.pincode"), rejected(schema.ENOTFOUND, "household_id")}},
		{"a failing record is rejected and the rest applied",
			[]schema.Record{
				resident(schema.NewID(), h1, 1, func(r *schema.Resident) { r.Relation = "son" }),
				resident(schema.NewID(), h1, 1, func(r *schema.Resident) { r.Sex = "X" }),
				resident(schema.NewID(), h1, 1, func(r *schema.Resident) { r.Relation = "daughter"; r.Sex = "F" }),
			},
			[]want{accepted, rejected(schema.EINVALID, "sex"), accepted}},
		// A NUL could not be stored in PostgreSQL's text or jsonb at all.
		{"a NUL in a name is invalid, named",
			[]schema.Record{resident(schema.NewID(), h1, 1, func(r *schema.Resident) { r.Name = "Asha\x00Devi" })},
			[]want{rejected(schema.EINVALID, "name")}},
		{"a tombstone's id is held to the id format too",
			[]schema.Record{{Kind: schema.KindResident, ID: "R\x00", Version: 1, Deleted: true}},
			[]want{rejected(schema.EINVALID, "id")}},
		{"type errors are invalid with the field",
			[]schema.Record{{Kind: schema.KindResident, ID: "R-TYPE", Version: 1,
				Data: json.RawMessage(`{"household_id":"` + h1 + `","name":5,"sex":"M","dob":"1990","relation":"son"}`)}},
			[]want{rejected(schema.EINVALID, "name")}},
		{"aadhaar in the clear is invalid",
			[]schema.Record{resident(schema.NewID(), h1, 1, func(r *schema.Resident) { r.Aadhaar = "234123412346" })},
			[]want{rejected(schema.EINVALID, "aadhaar")}},
		{"data for another id is invalid",
			[]schema.Record{func() schema.Record {
				rec := resident(schema.NewID(), h1, 1, nil)
				rec.ID = schema.NewID()
				return rec
			}()},
			[]want{rejected(schema.EINVALID, "id")}},
		{"version below 1 and missing data are invalid",
			[]schema.Record{resident(schema.NewID(), h1, 0, nil), {Kind: schema.KindHousehold, ID: schema.NewID(), Version: 1}},
			[]want{rejected(schema.EINVALID, "version"), rejected(schema.EINVALID, "data")}},
		{"household with members inside is invalid",
			[]schema.Record{household(schema.NewID(), 1, func(h *schema.Household) {
				h.Members = []schema.Resident{{Name: "X"}}
			})},
			[]want{rejected(schema.EINVALID, "members")}},
		{"a tombstone deletes and an older version then is stale",
			[]schema.Record{{Kind: schema.KindResident, ID: r1, Version: 3, Deleted: true}, resident(r1, h1, 2, nil)},
			[]want{accepted, stale}},
		{"a tombstone of an unknown record is kept",
			[]schema.Record{{Kind: schema.KindResident, ID: "R-GONE", Version: 2, Deleted: true}, resident("R-GONE", h1, 1, nil)},
			[]want{accepted, stale}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := mustApply(t, s, dev, batch(dev, tt.recs...))
			checkResults(t, res, tt.wants...)
			for _, r := range res.Results {
				if r.Status == schema.StatusRejected && r.Message == "" {
					t.Errorf("rejected %s without a message", r.ID)
				}
			}
		})
	}

	// h1, the household of the "household earlier" case, otherHH; r1 is
	// deleted, so: the two accepted residents of the failing-record case
	// and the resident of the "household earlier" case.
	st := mustStats(t, s)
	if st.Households != 3 || st.Residents != 3 {
		t.Errorf("stats: %d households, %d residents; want 3, 3", st.Households, st.Residents)
	}
}

func TestApplyBatchTwiceCreatesNothing(t *testing.T) {
	s := MustOpen(t)
	dev, _ := mustDevice(t, s, "team-1")
	h := schema.NewID()
	b := batch(dev, household(h, 1, nil), resident(schema.NewID(), h, 1, nil),
		resident(schema.NewID(), h, 1, func(r *schema.Resident) { r.Relation = "spouse"; r.Sex = "F" }))
	first := mustApply(t, s, dev, b)
	checkResults(t, first, accepted, accepted, accepted)
	before := mustStats(t, s)
	second := mustApply(t, s, dev, b)
	checkResults(t, second, duplicate, duplicate, duplicate)
	after := mustStats(t, s)
	if before != after {
		t.Errorf("second apply changed stats: %+v -> %+v", before, after)
	}
	if after.Batches != 1 || after.Records.Accepted != 3 {
		t.Errorf("batch log: %d batches, %d accepted; want 1, 3", after.Batches, after.Records.Accepted)
	}
}

func TestApplyBatchWholeBatchErrors(t *testing.T) {
	s := MustOpen(t)
	dev, _ := mustDevice(t, s, "team-1")
	revoked, _ := mustDevice(t, s, "team-revoked")
	if err := s.RevokeDevice(context.Background(), revoked); err != nil {
		t.Fatal(err)
	}
	good := func(deviceID string) schema.Batch {
		h := schema.NewID()
		return batch(deviceID, household(h, 1, nil), resident(schema.NewID(), h, 1, nil))
	}
	tests := []struct {
		name     string
		deviceID string
		batch    schema.Batch
		code     string
		field    string
	}{
		{"missing batch id", dev, func() schema.Batch { b := good(dev); b.BatchID = ""; return b }(), schema.EINVALID, "batch_id"},
		{"batch id with a NUL", dev, func() schema.Batch { b := good(dev); b.BatchID = "B\x001"; return b }(), schema.EINVALID, "batch_id"},
		{"newer schema", dev, func() schema.Batch { b := good(dev); b.SchemaVersion = schema.SchemaVersion + 1; return b }(), schema.EINVALID, "schema_version"},
		{"unknown kind", dev, func() schema.Batch {
			b := good(dev)
			b.Records = append(b.Records, schema.Record{Kind: "person", ID: "P1", Version: 1})
			return b
		}(), schema.EINVALID, "records[2].kind"},
		{"too many records", dev, func() schema.Batch {
			b := good(dev)
			for len(b.Records) <= schema.MaxRecordsPerBatch {
				b.Records = append(b.Records, b.Records[1])
			}
			return b
		}(), schema.ETOOLARGE, "records"},
		{"batch of another device", dev, good(revoked), schema.EFORBIDDEN, "device_id"},
		{"unknown device", "NO-SUCH-DEVICE", good("NO-SUCH-DEVICE"), schema.ENOTFOUND, "device_id"},
		{"revoked device", revoked, good(revoked), schema.EUNAUTHORIZED, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := mustStats(t, s)
			_, err := s.ApplyBatch(context.Background(), tt.deviceID, tt.batch, 10)
			if code := schema.ErrorCode(err); code != tt.code {
				t.Fatalf("error %v: code %q, want %q", err, code, tt.code)
			}
			var se *schema.Error
			if !errors.As(err, &se) {
				t.Fatalf("error %v is not a *schema.Error", err)
			}
			if se.Field != tt.field {
				t.Errorf("error %v: field %q, want %q", err, se.Field, tt.field)
			}
			if after := mustStats(t, s); after != before {
				t.Errorf("whole-batch error wrote something: %+v -> %+v", before, after)
			}
		})
	}
}

func TestApplyBatchLargeWhenAllowed(t *testing.T) {
	s := MustOpen(t, store.WithMaxBatchRecords(0))
	dev, _ := mustDevice(t, s, "seeder")
	h := schema.NewID()
	recs := []schema.Record{household(h, 1, nil)}
	for range schema.MaxRecordsPerBatch + 10 {
		recs = append(recs, resident(schema.NewID(), h, 1, func(r *schema.Resident) { r.Relation = "other" }))
	}
	res := mustApply(t, s, dev, batch(dev, recs...))
	if acc, _, _, _ := res.Counts(); acc != len(recs) {
		t.Errorf("accepted %d of %d", acc, len(recs))
	}
}

func TestTokens(t *testing.T) {
	ctx := context.Background()
	s := MustOpen(t)
	tok, err := s.CreateToken(ctx, schema.RoleAdmin, "alice")
	if err != nil {
		t.Fatal(err)
	}
	// dst_ + base64url of at least 16 bytes (128 bits).
	if !regexp.MustCompile(`^dst_[A-Za-z0-9_-]{22,}$`).MatchString(tok) {
		t.Errorf("token %q does not look like 128+ random bits", tok)
	}
	p, err := s.Authenticate(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "alice" || p.Role != schema.RoleAdmin || p.DeviceID != "" || p.TokenID == "" {
		t.Errorf("principal %+v", p)
	}

	for _, tc := range []struct{ role, name, code string }{
		{"root", "bob", schema.EINVALID},
		{schema.RoleDevice, "bob", schema.EINVALID},
		{schema.RoleAdmin, "", schema.EINVALID},
		{schema.RoleSupervisor, "alice", schema.ECONFLICT},
	} {
		if _, err := s.CreateToken(ctx, tc.role, tc.name); schema.ErrorCode(err) != tc.code {
			t.Errorf("CreateToken(%q, %q): %v, want code %s", tc.role, tc.name, err, tc.code)
		}
	}

	if err := s.RevokeToken(ctx, "alice"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, tok); schema.ErrorCode(err) != schema.EUNAUTHORIZED {
		t.Errorf("revoked token: %v", err)
	}
	if err := s.RevokeToken(ctx, "alice"); schema.ErrorCode(err) != schema.ENOTFOUND {
		t.Errorf("revoke again by name: %v", err)
	}
	for _, bad := range []string{"", "dst_nope", tok + "x", strings.TrimPrefix(tok, "dst_")} {
		if _, err := s.Authenticate(ctx, bad); schema.ErrorCode(err) != schema.EUNAUTHORIZED {
			t.Errorf("Authenticate(%q): %v", bad, err)
		}
	}
	// The name is free again once its token is revoked.
	if _, err := s.CreateToken(ctx, schema.RoleSupervisor, "alice"); err != nil {
		t.Error(err)
	}
	list, err := s.ListTokens(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].RevokedAt == nil || list[1].RevokedAt != nil {
		t.Errorf("ListTokens: %+v", list)
	}
}

func TestDeviceRegistration(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	db, keys := testdb.Registry(t)
	s, err := store.Open(ctx, db, store.WithClock(clock), store.WithKeysDir(keys))
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()

	id, code, err := s.AddDevice(ctx, "team-7", "dl-nw-w05")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$`).MatchString(code) {
		t.Errorf("code %q is not three groups of four Crockford symbols", code)
	}
	// Typed sloppily: lower case, spaces instead of dashes.
	reg, err := s.RegisterDevice(ctx, strings.ToLower(strings.ReplaceAll(code, "-", " ")), "lap-7")
	if err != nil {
		t.Fatal(err)
	}
	if reg.DeviceID != id || reg.Name != "team-7" || reg.Area != "DL-NW-W05" || reg.Token == "" {
		t.Errorf("registered %+v", reg)
	}
	key, err := base64.StdEncoding.DecodeString(reg.AadhaarKey)
	if err != nil || len(key) != 32 {
		t.Errorf("aadhaar key %q: %d bytes, %v", reg.AadhaarKey, len(key), err)
	}
	p, err := s.Authenticate(ctx, reg.Token)
	if err != nil || p.Role != schema.RoleDevice || p.DeviceID != id {
		t.Errorf("device token: %+v, %v", p, err)
	}
	if _, err := s.RegisterDevice(ctx, code, "lap-8"); schema.ErrorCode(err) != schema.EUNAUTHORIZED {
		t.Errorf("second use of a code: %v", err)
	}
	if _, err := s.RegisterDevice(ctx, "AAAA-BBBB-CCCC", "lap-8"); schema.ErrorCode(err) != schema.EUNAUTHORIZED {
		t.Errorf("unknown code: %v", err)
	}

	_, late, err := s.AddDevice(ctx, "team-8", "")
	if err != nil {
		t.Fatal(err)
	}
	now = now.Add(store.CodeValidity + time.Minute)
	if _, err := s.RegisterDevice(ctx, late, "lap-8"); schema.ErrorCode(err) != schema.EUNAUTHORIZED {
		t.Errorf("expired code: %v", err)
	}

	if err := s.RevokeDevice(ctx, id); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(ctx, reg.Token); schema.ErrorCode(err) != schema.EUNAUTHORIZED {
		t.Errorf("token of a revoked device: %v", err)
	}
	if err := s.RevokeDevice(ctx, "NO-SUCH"); schema.ErrorCode(err) != schema.ENOTFOUND {
		t.Errorf("revoke unknown device: %v", err)
	}
	devices, err := s.ListDevices(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Both were added at the same instant of the test's clock, so their
	// order is their ids', which are random within a millisecond.
	status := map[string]string{}
	for _, d := range devices {
		status[d.Name] = d.Status
	}
	if len(devices) != 2 || status["team-7"] != store.DeviceRevoked || status["team-8"] != store.DeviceExpired {
		t.Errorf("ListDevices: %+v", devices)
	}

	// The key is in the keys directory with private permissions, the same
	// on every open, and not in the database.
	keyPath := filepath.Join(keys, "aadhaar-hmac.key")
	fi, err := os.Stat(keyPath)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("key mode %04o", fi.Mode().Perm())
	}
	if di, err := os.Stat(filepath.Dir(keyPath)); err != nil || di.Mode().Perm() != 0o700 {
		t.Errorf("keys dir: %v, %v", di, err)
	}
	onDisk, _ := os.ReadFile(keyPath)
	if string(onDisk) != string(key) {
		t.Error("registered key differs from the key file")
	}
	if dbContains(t, db, string(key)) || dbContains(t, db, reg.AadhaarKey) || dbContains(t, db, reg.Token) || dbContains(t, db, code) {
		t.Error("a secret is stored in the database")
	}
}

func TestKeysDirOption(t *testing.T) {
	ctx := context.Background()
	db, keys := testdb.Registry(t)
	open := func() []byte {
		s, err := store.Open(ctx, db, store.WithKeysDir(keys))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		_, code, err := s.AddDevice(ctx, "x", "")
		if err != nil {
			t.Fatal(err)
		}
		reg, err := s.RegisterDevice(ctx, code, "")
		if err != nil {
			t.Fatal(err)
		}
		k, _ := base64.StdEncoding.DecodeString(reg.AadhaarKey)
		return k
	}
	first, second := open(), open()
	if string(first) != string(second) {
		t.Error("key changed between opens")
	}
	if _, err := os.Stat(filepath.Join(keys, "aadhaar-hmac.key")); err != nil {
		t.Error(err)
	}
	if err := os.Chmod(filepath.Join(keys, "aadhaar-hmac.key"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Open(ctx, db, store.WithKeysDir(keys)); err == nil {
		t.Error("opened with a key readable by others")
	}
}

// dbContains reports whether the registry db (its files, on SQLite; every
// row of every table, on PostgreSQL) holds secret.
func dbContains(tb testing.TB, db, secret string) bool {
	tb.Helper()
	if testdb.Postgres() {
		if !utf8.ValidString(secret) {
			return false // a PostgreSQL text column cannot hold it; the registry has no binary columns
		}
		conn := testdb.OpenSQL(tb, db)
		tables, err := conn.Query(`SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'`)
		if err != nil {
			tb.Fatal(err)
		}
		var names []string
		for tables.Next() {
			var n string
			tables.Scan(&n)
			names = append(names, n)
		}
		tables.Close()
		if len(names) == 0 {
			tb.Fatal("no tables")
		}
		for _, n := range names {
			var hits int
			if err := conn.QueryRow(`SELECT COUNT(*) FROM `+n+` t WHERE strpos(t::text, ?) > 0`, secret).Scan(&hits); err != nil {
				tb.Fatal(err)
			}
			if hits > 0 {
				return true
			}
		}
		return false
	}
	files, _ := filepath.Glob(filepath.Join(filepath.Dir(db), "*.db*"))
	if len(files) == 0 {
		tb.Fatal("no database files")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		if strings.Contains(string(b), secret) {
			return true
		}
	}
	return false
}

func ExampleStore_ApplyBatch() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "store-example")
	defer os.RemoveAll(dir)
	s, _ := store.Open(ctx, filepath.Join(dir, "server.db"))
	defer s.Close()
	dev, code, _ := s.AddDevice(ctx, "team-1", "DL-NW-W05")
	if _, err := s.RegisterDevice(ctx, code, "laptop"); err != nil {
		fmt.Println(err)
	}
	h := household("H1", 1, nil)
	res, _ := s.ApplyBatch(ctx, dev, batch(dev, h, resident("R1", "H1", 1, nil), resident("R2", "H9", 1, nil)), 0)
	for _, r := range res.Results {
		if r.Status == schema.StatusRejected {
			fmt.Println(r.Kind, r.ID, r.Status, r.Code, r.Field)
			continue
		}
		fmt.Println(r.Kind, r.ID, r.Status)
	}
	// Output:
	// household H1 accepted
	// resident R1 accepted
	// resident R2 rejected not_found household_id
}

// A token revoked from another process (the command line, run while the
// server serves) stops working within a second, although this process
// remembers live tokens for that long.
func TestTokenRevokedElsewhereStopsWithinASecond(t *testing.T) {
	ctx := context.Background()
	path, keys := testdb.Registry(t)
	server, err := store.Open(ctx, path, store.WithKeysDir(keys))
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	tok, err := server.CreateToken(ctx, schema.RoleHospital, "desk")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := server.Authenticate(ctx, tok); err != nil {
		t.Fatal(err)
	}
	cli, err := store.Open(ctx, path, store.WithKeysDir(keys))
	if err != nil {
		t.Fatal(err)
	}
	if err := cli.RevokeToken(ctx, "desk"); err != nil {
		t.Fatal(err)
	}
	cli.Close()
	time.Sleep(1100 * time.Millisecond)
	if _, err := server.Authenticate(ctx, tok); schema.ErrorCode(err) != schema.EUNAUTHORIZED {
		t.Errorf("a second after revocation elsewhere: %v, want unauthorized", err)
	}
}

// A resident already stored, moved into a household new in the same
// batch: the household is written before the resident refers to it,
// although new records are written together at the end of the batch.
func TestApplyBatchMovesResidentIntoNewHousehold(t *testing.T) {
	s := MustOpen(t)
	dev, _ := mustDevice(t, s, "team-1")
	h1, h2, r1, r2 := schema.NewID(), schema.NewID(), schema.NewID(), schema.NewID()
	mustApply(t, s, dev, batch(dev, household(h1, 1, nil), resident(r1, h1, 1, nil)))
	res := mustApply(t, s, dev, batch(dev, household(h2, 1, nil), resident(r1, h2, 2, nil), resident(r2, h2, 1, nil), resident(r1, h2, 2, nil)))
	checkResults(t, res, accepted, accepted, accepted, duplicate)
	if st := mustStats(t, s); st.Households != 2 || st.Residents != 2 {
		t.Errorf("stats: %+v, want 2 households and 2 residents", st)
	}
	again := mustApply(t, s, dev, batch(dev, household(h2, 1, nil), resident(r1, h2, 2, nil), resident(r2, h2, 1, nil)))
	checkResults(t, again, duplicate, duplicate, duplicate)
}
